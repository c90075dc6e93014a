"""Redis stopped in the middle of a purchase run, on the real stack (gunicorn + PostgreSQL + Redis).

Buyers purchase over HTTP (order, WeChat Pay APIv3 on the loopback, signed callback) in threads;
the service's Redis is killed while they do. Purchases stay correct and none is lost; what degrades
(readiness, rankings, rate limits, new logins) is measured, and comes back when Redis does.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests
from sqlalchemy import func, select

from models import Batch, Certificate, Order, OrderStatus
from models.database import unit_of_work
from services.pool.pool_audit import run_audit
from tests.support.live import Buyer, PurchaseRun, live_service, report_figures, status_of, wait_until
from tests.support.pool import stock_pool
from tests.support.servers import PrivateRedis

pytestmark = pytest.mark.postgres

BUYERS = 6
PROBE_LIMIT = 5  # reward redemptions per minute and caller: the rate limit the probe trips
RANKING = "/api/v1/me/rank?board=offsets&period=all"


@pytest.fixture
def private_redis():
    if not PrivateRedis.available():
        pytest.skip("redis-server is not installed")
    server = PrivateRedis()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def app_overrides(private_redis):
    return {"REDIS_URL": private_redis.url}


def _probe_limit(prober: Buyer) -> Counter:
    """One redemption request `PROBE_LIMIT + 2` times: how many were rate-limited (429), how many not."""
    answers = [
        prober.call(None, "POST", "/api/v1/rewards/999999/redeem", json={}) for _ in range(PROBE_LIMIT + 2)
    ]
    return Counter("limited" if a.status_code == 429 else "let through" for a in answers)


def _fulfilled_grams_by_user() -> dict[int, int]:
    with unit_of_work() as session:
        rows = session.execute(
            select(Order.user_id, func.sum(Order.grams))
            .where(Order.status == OrderStatus.FULFILLED)
            .group_by(Order.user_id)
        ).all()
    return {user_id: int(grams) for user_id, grams in rows}


def test_purchases_stay_correct_while_redis_is_down(
    pg_app, pg_url, private_redis, fake_wechatpay, tmp_path, record_property
):
    stock_pool(tonnes=3)
    settings = fake_wechatpay.settings(
        tmp_path / "keys",
        RATELIMIT_ENABLED="true",
        ORDER_RATE_LIMIT="1000 per minute",
        REDEEM_RATE_LIMIT=f"{PROBE_LIMIT} per minute",
        DATABASE_POOL_SIZE=4,
    )
    with live_service(pg_url, private_redis.url, tmp_path, workers=3, **settings) as server:
        base = server.base
        buyers = [Buyer.log_in(base, f"redis-fault-{i}") for i in range(BUYERS)]
        ids = [b.call(None, "GET", "/api/v1/me").json()["id"] for b in buyers]
        prober = Buyer.log_in(base, "rate-limit-prober")
        run = PurchaseRun(buyers, fake_wechatpay)

        run.start("before")
        time.sleep(1.0)
        limited_before = _probe_limit(prober)
        rank_before = prober.call(None, "GET", RANKING).status_code

        private_redis.stop()  # in the middle of the run: requests are in flight
        stopped = time.monotonic()
        run.enter("down")
        time.sleep(0.5)
        ready_down = status_of(base + "/health/ready")
        rank_down = prober.call(None, "GET", RANKING)
        transparency_down = status_of(base + "/api/v1/transparency")
        limited_down = _probe_limit(prober)
        login_down = requests.post(f"{base}/api/v1/auth/login", json={"code": "newcomer"}, timeout=10)
        time.sleep(1.0)
        run.stop()
        down_s = time.monotonic() - stopped

        restarted = time.monotonic()
        private_redis.start()  # back, and empty: nothing the service kept in Redis survived
        ready_recovered_s = wait_until(lambda: status_of(base + "/health/ready") == 200) + (
            time.monotonic() - restarted
        )
        # Rankings are rebuilt from the database, purchases made while Redis was down included.
        ranks_rebuilt = [b.call(None, "GET", RANKING).json()["score_g"] for b in buyers]
        rebuilt_expected = _fulfilled_grams_by_user()
        limited_after = _probe_limit(prober)

        run.start("after")
        time.sleep(1.0)
        run.stop()
        ranks_after = [b.call(None, "GET", RANKING).json()["score_g"] for b in buyers]

    purchases = run.purchases
    tallies = run.tallies
    # Every purchase went through in every phase, and WeChat Pay's callback was acknowledged.
    for name, tally in tallies.items():
        assert set(tally.statuses) <= {200, 201}, (name, tally.statuses)
    assert all(p.paid and p.acknowledged for p in purchases)
    assert all(tallies[name].sent > 0 for name in ("before", "down", "after")), tallies
    # What degrades while Redis is down, and comes back.
    assert rank_before == 200 and ready_down == 503 and transparency_down == 200
    assert rank_down.status_code == 503 and rank_down.headers["Retry-After"]
    assert limited_before["limited"] == 2, limited_before
    assert limited_down == Counter({"let through": PROBE_LIMIT + 2}), limited_down  # limits fail open
    assert limited_after["limited"] == 2, limited_after  # enforced again
    assert login_down.status_code == 503 and login_down.headers["Retry-After"]  # the session key needs Redis
    assert ranks_rebuilt == [rebuilt_expected.get(i, 0) for i in ids]
    assert ranks_after == [_fulfilled_grams_by_user().get(i, 0) for i in ids]  # increments again
    # Nothing lost, nothing half done.
    with unit_of_work() as session:
        statuses = Counter(session.scalars(select(Order.status)).all())
        certificates = session.scalar(select(func.count()).select_from(Certificate))
        sold = session.scalar(select(func.sum(Batch.sold_g)))
    assert statuses == Counter({OrderStatus.FULFILLED: len(purchases)})
    assert certificates == len(purchases)
    assert sold == len(purchases) * 10_000
    assert list(run_audit()) == []

    report_figures(
        record_property,
        "redis stopped mid-run",
        requests=sum(t.sent for t in tallies.values()),
        requests_while_down=tallies["down"].sent,
        succeeded=sum(t.succeeded for t in tallies.values()),
        failed=sum(t.sent - t.succeeded for t in tallies.values()),
        orders_paid=sum(p.paid for p in purchases),
        orders_fulfilled=statuses[OrderStatus.FULFILLED],
        redis_down_s=round(down_s, 2),
        rate_limited_before_down_after=[
            limited_before["limited"],
            limited_down["limited"],
            limited_after["limited"],
        ],
        rankings_while_down=rank_down.status_code,
        login_while_down=login_down.status_code,
        ready_recovered_s=round(ready_recovered_s, 2),
    )
