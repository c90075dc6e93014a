"""PostgreSQL restarted under load, on the real stack (gunicorn + PostgreSQL + Redis).

Buyers purchase over HTTP in threads while the service's PostgreSQL (a server of the test's own)
does a fast restart. Requests in flight answer 503 with Retry-After, nothing is half done, and the
same gunicorn workers serve again as soon as the server is back: no restart of the service.
WeChat Pay sends again every callback that was not acknowledged, as it does; each order is
fulfilled once.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from models import Batch, Certificate, Order, OrderStatus, PaymentEvent, database
from models.database import unit_of_work
from services.kernel.redis_store import get_redis
from services.pool.pool_audit import run_audit
from tests.conftest import _make_app, alembic_upgrade
from tests.support.live import (
    Buyer,
    PurchaseRun,
    live_service,
    report_figures,
    status_of,
    wait_until,
)
from tests.support.pool import stock_pool
from tests.support.servers import PrivatePostgres

pytestmark = pytest.mark.postgres

BUYERS = 6


@pytest.fixture
def private_pg():
    if not PrivatePostgres.available():
        pytest.skip("PostgreSQL server binaries are not installed")
    server = PrivatePostgres()
    server.start()
    yield server
    server.stop()


def test_service_survives_a_database_restart(
    private_pg, redis_url, fake_wechatpay, tmp_path, record_property
):
    alembic_upgrade(private_pg.url)
    app = _make_app(private_pg.url, redis_url)
    with app.app_context():
        get_redis().flushdb()
        stock_pool(tonnes=3)
    settings = fake_wechatpay.settings(tmp_path / "keys", DATABASE_POOL_SIZE=4)
    with live_service(private_pg.url, redis_url, tmp_path, workers=3, **settings) as server:
        buyers = [Buyer.log_in(server.base, f"pg-restart-{i}") for i in range(BUYERS)]
        workers_before = server.worker_pids()
        run = PurchaseRun(buyers, fake_wechatpay)
        run.start("run")
        time.sleep(1.0)
        began = time.monotonic()
        private_pg.restart()  # fast: open connections are cut, transactions in flight roll back
        restarted = time.monotonic()
        recovered_s = wait_until(lambda: status_of(server.base + "/health/ready") == 200)
        # Served again: a purchase completed after the restart (waited for, however slow the machine).
        wait_until(lambda: any(p.finished_at > restarted and p.acknowledged for p in list(run.purchases)))
        run.stop()
        workers_after = server.worker_pids()

        unacknowledged, redelivered = run.redeliver(server.base)

    tally = run.tallies["run"]
    purchases = run.purchases
    paid = [p for p in purchases if p.paid]
    assert set(tally.statuses) <= {200, 201, 503}, tally.statuses  # no 500, no connection dropped
    assert tally.count(503) > 0, "the restart was not noticed: nothing was in flight"
    assert tally.retry_after == tally.count(503)  # every 503 says when to retry
    assert workers_after == workers_before  # the same processes recovered by themselves
    assert redelivered == Counter({200: len(unacknowledged)})
    assert any(p.finished_at > restarted and p.acknowledged for p in purchases)  # served again before the end
    # This process's own pool still holds connections to the server as it was; the pool pings only
    # idle connections, so the test starts afresh rather than spend its first read on a dead one.
    database.get_engine().dispose()

    with app.app_context(), unit_of_work() as session:
        statuses = Counter(session.scalars(select(Order.status)).all())
        fulfilled_g = session.scalar(
            select(func.coalesce(func.sum(Order.grams), 0)).where(Order.status == OrderStatus.FULFILLED)
        )
        sold = session.scalar(select(func.sum(Batch.sold_g)))
        certificates = session.scalar(select(func.count()).select_from(Certificate))
        events = session.scalar(select(func.count()).select_from(PaymentEvent))
        paid_numbers = {p.out_trade_no for p in paid}
        fulfilled_numbers = set(
            session.scalars(select(Order.out_trade_no).where(Order.status == OrderStatus.FULFILLED)).all()
        )
        audit = list(run_audit())
    # Nothing half done: an order is whole and unpaid (its buyer saw a 503) or paid and fulfilled, once.
    assert set(statuses) <= {OrderStatus.FULFILLED, OrderStatus.AWAITING_PAYMENT}, statuses
    assert fulfilled_numbers == paid_numbers
    assert certificates == events == len(paid)
    assert sold == fulfilled_g == len(paid) * 10_000
    assert audit == []

    report_figures(
        record_property,
        "postgresql restarted under load",
        requests=tally.sent,
        succeeded=tally.succeeded,
        answered_503=tally.count(503),
        with_retry_after=tally.retry_after,
        other_failures=tally.sent - tally.succeeded - tally.count(503),
        restart_s=round(restarted - began, 2),
        errors_window_s=round((tally.last_503 or 0) - (tally.first_503 or 0), 2),
        ready_again_after_restart_s=round(recovered_s, 2),
        orders_paid=len(paid),
        orders_fulfilled=statuses[OrderStatus.FULFILLED],
        callbacks_redelivered=len(unacknowledged),
        unpaid_orders_left=statuses[OrderStatus.AWAITING_PAYMENT],
        workers_restarted=len(set(workers_before) - set(workers_after)),
    )
