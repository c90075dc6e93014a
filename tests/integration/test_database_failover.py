"""PostgreSQL with a synchronous streaming replica: the primary crashes under load, the standby is
promoted, and the service (DATABASE_URL naming both hosts, `target_session_attrs=read-write`) writes
to the new primary without a restart. No acknowledged purchase is lost; none is half done."""

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

BUYERS = 4


@pytest.fixture
def primary_and_standby():
    if not PrivatePostgres.available():
        pytest.skip("PostgreSQL server binaries are not installed")
    primary = PrivatePostgres()
    primary.start()
    standby = None
    try:
        standby = primary.standby()
        yield primary, standby
    finally:
        for server in (standby, primary):
            if server is not None:
                server.stop()


def test_service_writes_to_the_promoted_standby(
    primary_and_standby, redis_url, fake_wechatpay, tmp_path, record_property
):
    primary, standby = primary_and_standby
    alembic_upgrade(primary.url)
    # libpq tries the hosts in turn and keeps the one that takes writes.
    url = (
        f"postgresql+psycopg://root@/carbon?host=127.0.0.1:{primary.port}&host=127.0.0.1:{standby.port}"
        "&target_session_attrs=read-write"
    )
    app = _make_app(url, redis_url)
    with app.app_context():
        get_redis().flushdb()
        stock_pool(tonnes=2)
    settings = fake_wechatpay.settings(tmp_path / "keys", DATABASE_POOL_SIZE=4)
    with live_service(url, redis_url, tmp_path, workers=2, **settings) as server:
        buyers = [Buyer.log_in(server.base, f"failover-{i}") for i in range(BUYERS)]
        workers_before = server.worker_pids()
        run = PurchaseRun(buyers, fake_wechatpay)
        run.start("run")
        time.sleep(1.0)
        primary.crash()
        crashed = time.monotonic()
        acknowledged_before_crash = {p.out_trade_no for p in list(run.purchases) if p.acknowledged}
        standby.promote()
        promoted_s = time.monotonic() - crashed
        serving_s = wait_until(lambda: status_of(server.base + "/health/ready") == 200) + promoted_s
        promoted = crashed + promoted_s
        # Served again: a purchase completed after the promotion (waited for, however slow the machine).
        wait_until(lambda: any(p.finished_at > promoted and p.acknowledged for p in list(run.purchases)))
        run.stop()
        workers_after = server.worker_pids()
        unacknowledged, redelivered = run.redeliver(server.base)

    tally = run.tallies["run"]
    paid = {p.out_trade_no for p in run.purchases if p.paid}
    assert set(tally.statuses) <= {200, 201, 503}, tally.statuses
    assert tally.count(503) > 0 and tally.retry_after == tally.count(503)
    assert workers_after == workers_before
    assert redelivered == Counter({200: len(unacknowledged)})
    assert any(p.finished_at > promoted and p.acknowledged for p in run.purchases)
    # This process's own pool still holds connections to the server as it was; the pool pings only
    # idle connections, so the test starts afresh rather than spend its first read on a dead one.
    database.get_engine().dispose()
    with app.app_context(), unit_of_work() as session:
        assert session.connection().exec_driver_sql("SELECT pg_is_in_recovery()").scalar() is False
        assert session.connection().exec_driver_sql("SHOW port").scalar() == str(standby.port)
        statuses = Counter(session.scalars(select(Order.status)).all())
        fulfilled = set(
            session.scalars(select(Order.out_trade_no).where(Order.status == OrderStatus.FULFILLED))
        )
        events = Counter(session.scalars(select(PaymentEvent.order_id)).all())
        certificates = session.scalar(select(func.count()).select_from(Certificate))
        sold = session.scalar(select(func.sum(Batch.sold_g)))
        audit = list(run_audit())
    assert acknowledged_before_crash <= fulfilled  # synchronous replication: nothing acknowledged is lost
    assert fulfilled == paid and set(events.values()) == {1} and certificates == len(paid)
    assert set(statuses) <= {OrderStatus.FULFILLED, OrderStatus.AWAITING_PAYMENT}, statuses
    assert sold == len(paid) * 10_000 and audit == []

    report_figures(
        record_property,
        "postgresql primary crashed, standby promoted",
        requests=tally.sent,
        succeeded=tally.succeeded,
        answered_503=tally.count(503),
        with_retry_after=tally.retry_after,
        promote_s=round(promoted_s, 2),
        serving_again_after_crash_s=round(serving_s, 2),
        acknowledged_before_crash=len(acknowledged_before_crash),
        acknowledged_lost=len(acknowledged_before_crash - fulfilled),
        orders_paid=len(paid),
        orders_fulfilled=len(fulfilled),
        callbacks_redelivered=len(unacknowledged),
        workers_restarted=len(set(workers_before) - set(workers_after)),
    )
