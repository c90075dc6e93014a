"""A gunicorn worker killed (SIGKILL) in the middle of fulfilment, on the real stack.

Buyers purchase over HTTP; one order's fulfilment hangs inside its transaction
(`tests/support/fulfil_and_hang.py`) and that worker is killed there. Nothing is half done: the
transaction dies with the worker. gunicorn starts a new worker, the others keep serving, and the
recovery job (`flask orders sync`, the command behind the `sync-orders` job) asks WeChat Pay and
fulfils every paid order, exactly once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from models import Batch, Certificate, Order, OrderStatus, PaymentEvent
from models.database import unit_of_work
from services.pool.pool_audit import run_audit
from tests.support.live import (
    Buyer,
    PurchaseRun,
    Tally,
    deliver,
    flask_cli,
    live_service,
    report_figures,
    wait_until,
)
from tests.support.pool import stock_pool

pytestmark = pytest.mark.postgres

BUYERS = 4
HANG_UNITS = 7


def _orders_by_status() -> Counter:
    with unit_of_work() as session:
        return Counter(session.scalars(select(Order.status)).all())


def test_worker_killed_during_fulfilment_then_every_paid_order_fulfilled_once(
    pg_app, pg_url, redis_url, fake_wechatpay, tmp_path, record_property
):
    stock_pool(tonnes=2)
    pidfile = tmp_path / "hanging.pid"
    settings = fake_wechatpay.settings(
        tmp_path / "keys", FULFIL_HANG_UNITS=HANG_UNITS, FULFIL_HANG_PIDFILE=pidfile, DATABASE_POOL_SIZE=4
    )
    with live_service(
        pg_url, redis_url, tmp_path, workers=3, app="tests.support.fulfil_and_hang:app", **settings
    ) as server:
        buyers = [Buyer.log_in(server.base, f"kill-{i}") for i in range(BUYERS)]
        victim = Buyer.log_in(server.base, "kill-victim")
        run = PurchaseRun(buyers, fake_wechatpay)
        run.start("run")
        victim_tally = Tally()
        victim_purchase = []
        victim_thread = threading.Thread(
            target=lambda: victim_purchase.append(victim.buy(fake_wechatpay, victim_tally, units=HANG_UNITS))
        )
        victim_thread.start()

        wait_until(pidfile.exists, timeout_s=30)
        pid = int(pidfile.read_text())
        assert pid in server.worker_pids()
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        victim_thread.join(30)
        respawned = server.wait_for_workers(without=pid)
        respawn_s = time.monotonic() - killed
        assert len(respawned) == 3
        time.sleep(1.0)  # the other workers and the new one keep serving
        run.stop()

        [hung] = victim_purchase
        # Nothing half done: the killed transaction left the order unpaid in our records, its grams held.
        with unit_of_work() as session:
            order = session.scalar(select(Order).where(Order.out_trade_no == hung.out_trade_no))
            hung_state = (order.status, order.transaction_id, order.fulfilled_at)
            hung_events = session.scalar(
                select(func.count()).select_from(PaymentEvent).where(PaymentEvent.order_id == order.id)
            )
        assert list(run_audit()) == []
        before_recovery = _orders_by_status()

        began = time.monotonic()
        first = flask_cli(server.env, "orders", "sync", "--quiet-seconds", "0")
        recovery_s = time.monotonic() - began
        second = flask_cli(server.env, "orders", "sync", "--quiet-seconds", "0")
        # WeChat Pay, unanswered, sends the hung order's callback again: it is a duplicate now.
        redelivered = deliver(server.base, fake_wechatpay.payment_callback(hung.out_trade_no))

    purchases = [*run.purchases, hung]
    paid = {p.out_trade_no for p in purchases if p.paid}
    # The victim's order was placed; WeChat Pay's callback lost its connection with the worker.
    assert hung.paid and not hung.acknowledged
    assert victim_tally.count(201) == 1 and victim_tally.succeeded == 1 and victim_tally.sent == 2
    assert set(run.tallies["run"].statuses) <= {200, 201}, run.tallies["run"].statuses
    assert hung_state == (OrderStatus.AWAITING_PAYMENT, None, None) and hung_events == 0
    assert before_recovery == Counter(
        {OrderStatus.FULFILLED: len(paid) - 1, OrderStatus.AWAITING_PAYMENT: 1}
    ), before_recovery
    assert first.returncode == 0 and "changed=1" in first.stdout, first.stdout + first.stderr
    assert second.returncode == 0 and "changed=0" in second.stdout, second.stdout + second.stderr
    assert redelivered.status_code == 200
    with unit_of_work() as session:
        fulfilled = set(
            session.scalars(select(Order.out_trade_no).where(Order.status == OrderStatus.FULFILLED)).all()
        )
        events = Counter(session.scalars(select(PaymentEvent.order_id)).all())
        certificates = Counter(session.scalars(select(Certificate.order_id)).all())
        sold = session.scalar(select(func.sum(Batch.sold_g)))
        fulfilled_g = session.scalar(
            select(func.sum(Order.grams)).where(Order.status == OrderStatus.FULFILLED)
        )
    assert fulfilled == paid  # every paid order fulfilled ...
    assert set(events.values()) == {1} and len(events) == len(paid)  # ... once
    assert set(certificates.values()) == {1} and len(certificates) == len(paid)
    assert sold == fulfilled_g
    assert list(run_audit()) == []

    report_figures(
        record_property,
        "worker killed in fulfilment",
        requests=run.tallies["run"].sent + victim_tally.sent,
        killed_mid_request=victim_tally.sent - victim_tally.succeeded,
        orders_paid=len(paid),
        fulfilled_before_recovery=before_recovery[OrderStatus.FULFILLED],
        fulfilled_after_recovery=len(fulfilled),
        worker_respawned_s=round(respawn_s, 2),
        recovery_job_s=round(recovery_s, 2),
        fulfilled_twice=sum(n > 1 for n in events.values()),
    )
