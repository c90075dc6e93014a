"""Faults on the real stack: Redis stopped in the middle of a purchase run; WeChat Pay timing out on refunds."""

import shutil
import socket
import subprocess
import threading
import time

import pytest
from sqlalchemy import func, select

from models import Batch, Order, OrderStatus, Refund
from models.database import db_session, unit_of_work
from services.pool_audit import run_audit
from tests.support.pool import stock_pool

pytestmark = pytest.mark.postgres


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A Redis server of this test's own, so stopping it disturbs nobody else."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def private_redis():
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_overrides(private_redis):
    return {"REDIS_URL": private_redis.url, "RATELIMIT_ENABLED": True, "DATABASE_POOL_SIZE": 10}


def test_purchases_stay_correct_while_redis_is_down(pg_app, private_redis):
    stock_pool(tonnes=1)
    client = pg_app.test_client()
    tokens = [client.post("/api/v1/auth/login", json={"code": f"fault-{i}"}).json["token"] for i in range(8)]
    outcomes: dict[str, list[int]] = {"before": [], "down": [], "after": []}
    phase = {"name": "before"}
    lock = threading.Lock()

    def buyer(token: str, rounds: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            for _ in range(rounds):
                current = phase["name"]
                placed = client.post(
                    "/api/v1/orders", json={"product": "one_yuan", "units": 1}, headers=headers
                )
                status = placed.status_code
                if status == 201:
                    number = placed.json["order"]["out_trade_no"]
                    status = client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=headers).status_code
                with lock:
                    outcomes[current].append(status)
        finally:
            db_session.remove()

    def run_round(name: str) -> None:
        phase["name"] = name
        threads = [threading.Thread(target=buyer, args=(token, 3)) for token in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    run_round("before")
    private_redis.stop()
    started = time.monotonic()
    run_round("down")
    down_seconds = time.monotonic() - started
    assert client.get("/health/ready").status_code == 503  # readiness says what is wrong
    private_redis.start()
    run_round("after")

    # Every purchase went through in every phase: Redis only speeds things up (token cache, rate limits).
    for name, statuses in outcomes.items():
        assert statuses and set(statuses) == {200}, (name, statuses)
    assert down_seconds < 30
    assert client.get("/health/ready").status_code == 200
    with unit_of_work() as session:
        fulfilled = session.scalar(
            select(func.count()).select_from(Order).where(Order.status == OrderStatus.FULFILLED)
        )
        sold = session.scalar(select(func.sum(Batch.sold_g)))
    assert fulfilled == 3 * len(tokens) * 3
    assert sold == fulfilled * 10_000
    assert list(run_audit()) == []


class TestRefundTimeouts:
    @pytest.fixture
    def app_overrides(self, fake_wechatpay, tmp_path):
        return fake_wechatpay.settings(
            tmp_path, "wechatpay_v3", WECHATPAY_TIMEOUT_S=0.5, WECHATPAY_RETRY_ATTEMPTS=2
        )

    def test_a_refund_that_timed_out_is_applied_once(self, pg_app, fake_wechatpay):
        from api.context import order_policy, payment_provider
        from services.order_jobs import finish_refunds

        stock_pool()
        client = pg_app.test_client()
        token = client.post("/api/v1/auth/login", json={"code": "refund-timeouts"}).json["token"]
        headers = {"Authorization": f"Bearer {token}"}
        number = client.post(
            "/api/v1/orders", json={"product": "one_yuan", "units": 2}, headers=headers
        ).json["order"]["out_trade_no"]
        fake_wechatpay.pay(number)
        callback = fake_wechatpay.payment_callback(number)
        client.post(
            "/api/v1/payments/wechatpay_v3/notify",
            data=callback.body,
            headers={"Content-Type": "application/json", **callback.headers},
        )

        fake_wechatpay.delay_next(times=2, seconds=1.5)  # every attempt of the first application times out
        refund = client.post(f"/api/v1/orders/{number}/refunds", json={}, headers=headers)
        assert refund.status_code == 201 and refund.json["status"] == "processing"

        time.sleep(1.6)  # the delayed answers are gone
        finish_refunds(payment_provider(), order_policy())  # applies again with the same out_refund_no
        fake_wechatpay.settle_refund(refund.json["out_refund_no"])
        finish_refunds(payment_provider(), order_policy())  # now queries it: success
        refunds_at_wechat = [r for r in fake_wechatpay.refunds.values() if r.out_trade_no == number]
        assert len(refunds_at_wechat) == 1 and refunds_at_wechat[0].refund == 200
        order = client.get(f"/api/v1/orders/{number}", headers=headers).json
        assert order["status"] == "refunded" and order["refunded_fen"] == 200
        with unit_of_work() as session:
            assert session.scalar(select(func.count()).select_from(Refund)) == 1
