"""Actions and rankings on PostgreSQL and a real Redis: concurrent writes of one user stay within
the caps and award once; a missing ranking is rebuilt by one process while the others wait."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from threading import Barrier

import pytest
from sqlalchemy import func, select

from models import Action, OrderStatus, User, utcnow
from models.database import read_session, unit_of_work
from services.actions import actions
from services.actions.action_policy import ActionPolicy
from services.kernel.beijing_time import today
from services.kernel.redis_store import get_redis
from services.points import rankings
from tests.points_support import check_ledger, make_user
from tests.support.werun import APPID, give_session_key, last_days, new_session_key, werun_payload

pytestmark = pytest.mark.postgres

POLICY = ActionPolicy(wechat_appid=APPID)
THREADS = 6


def run_together(app, calls):
    """Run each call in its own thread with the app context, released at one barrier; results or errors."""
    barrier = Barrier(len(calls))

    def run(call):
        with app.app_context():
            barrier.wait()
            try:
                return call()
            except Exception as exc:  # collected for the assertions
                return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_concurrent_trips_of_one_user_never_pass_the_daily_cap(pg_app):
    user_id = make_user("rider")

    results = run_together(
        pg_app, [lambda: actions.record_trip(user_id, "metro", Decimal(10), POLICY) for _ in range(THREADS)]
    )

    assert not [r for r in results if isinstance(r, Exception)]
    session = read_session()
    credited = session.scalar(select(func.sum(Action.reduction_g)).where(Action.user_id == user_id))
    session.rollback()
    assert credited == 2_500  # 6 x 468 g asked, capped at 2,500 g
    assert check_ledger(user_id).balance == sum(r.action.points for r in results)


def test_concurrent_werun_uploads_of_one_day_credit_it_once(pg_app):
    user_id = make_user("walker")
    key = new_session_key()
    give_session_key(user_id, key)
    payloads = [werun_payload(last_days(10_000 + 1_000 * i), key) for i in range(THREADS)]

    results = run_together(
        pg_app,
        [lambda p=p: actions.record_werun(user_id, p["encryptedData"], p["iv"], POLICY) for p in payloads],
    )

    assert not [r for r in results if isinstance(r, Exception)]
    session = read_session()
    (action,) = session.scalars(select(Action).where(Action.user_id == user_id)).all()
    session.rollback()
    assert (action.quantity, action.reduction_g) == (15_000, 262)  # 9.75 km x 26.9 g
    assert action.points == 2
    assert sum(r.points for r in results) == 2
    assert check_ledger(user_id).balance == 2


def test_a_missing_ranking_is_rebuilt_once_under_a_stampede(pg_app, monkeypatch):
    user_id = make_user("rider")
    actions.record_trip(user_id, "bus", Decimal(10), POLICY)
    get_redis().flushdb()
    rebuilds = []
    real = rankings.scores_from_database

    def counted(board):
        rebuilds.append(board.key)
        return real(board)

    monkeypatch.setattr(rankings, "scores_from_database", counted)

    results = run_together(
        pg_app, [lambda: rankings.leaderboard(user_id, "reductions", "all", "global") for _ in range(THREADS)]
    )

    assert [r.entries[0].score_g for r in results] == [269] * THREADS
    assert len(rebuilds) == 1


def test_offsets_ranking_reads_fulfilled_orders_on_postgres(pg_app):
    from tests.api.test_rankings import order

    buyer = make_user("buyer")
    with unit_of_work() as session:
        session.get(User, buyer).city = "顺昌"
    order(buyer, 30_000)
    order(buyer, 10_000, OrderStatus.PARTIALLY_REFUNDED, refunded_g=4_000)
    order(buyer, 90_000, OrderStatus.CANCELLED, fulfilled_at=utcnow())

    day = rankings.leaderboard(buyer, "offsets", "day", "city", ttl_s=60)
    mine = rankings.my_rank(buyer, "offsets", "week", "global", on=today(), ttl_s=60)

    assert [(e.rank, e.score_g, e.is_me) for e in day.entries] == [(1, 36_000, True)]
    assert (mine.rank, mine.score_g) == (1, 36_000)
    assert 0 < get_redis().ttl(day.board.key) <= 60
