"""A worker killed in the middle of fulfilment: nothing is half done, and the recovery job fulfils the order once."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import Certificate, Order, OrderStatus, PaymentEvent
from models.database import unit_of_work
from services.pool_audit import run_audit
from tests.support.pool import stock_pool

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_overrides(fake_wechatpay, tmp_path):
    return fake_wechatpay.settings(tmp_path, "wechatpay_v3")


def test_killed_during_fulfilment_then_recovered_once(
    pg_app, pg_url, redis_url, fake_wechatpay, tmp_path, app_overrides
):
    from api.context import order_policy, payment_provider
    from services.order_jobs import query_silent_orders

    stock_pool()
    client = pg_app.test_client()
    token = client.post("/api/v1/auth/login", json={"code": "killed-worker"}).json["token"]
    placed = client.post(
        "/api/v1/orders",
        json={"product": "one_yuan", "units": 3},
        headers={"Authorization": f"Bearer {token}"},
    ).json["order"]
    trade = fake_wechatpay.pay(placed["out_trade_no"])

    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({**app_overrides, "DATABASE_URL": pg_url, "REDIS_URL": redis_url}))
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.fulfil_and_hang",
            str(settings),
            placed["out_trade_no"],
            trade.transaction_id,
            str(placed["amount_fen"]),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert worker.stdout.readline().strip() == "HANGING"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)

    with unit_of_work() as session:
        order = session.scalar(select(Order).where(Order.out_trade_no == placed["out_trade_no"]))
        assert (
            order.status == OrderStatus.AWAITING_PAYMENT and order.transaction_id is None
        )  # nothing half done
        assert session.scalar(select(func.count()).select_from(PaymentEvent)) == 0
    assert list(run_audit()) == []

    report = query_silent_orders(payment_provider(), order_policy(), quiet_s=0)
    assert report.changed == 1
    query_silent_orders(payment_provider(), order_policy(), quiet_s=0)  # a second pass changes nothing
    with unit_of_work() as session:
        order = session.scalar(select(Order).where(Order.out_trade_no == placed["out_trade_no"]))
        assert order.status == OrderStatus.FULFILLED
        assert session.scalar(select(func.count()).select_from(Certificate)) == 1
    assert list(run_audit()) == []
