"""On PostgreSQL: concurrent spends from one balance never overdraw it; a duplicate award counts once."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import PointsEntry, PointsKind, utcnow
from models.database import unit_of_work
from services.kernel.errors import InsufficientPoints
from services.points import points
from tests.points_support import check_ledger, entries_sum, make_user
from tests.support.concurrency import run_together

pytestmark = pytest.mark.postgres

THREADS = 50
COST = 30
LOTS = (400, 300, 200, 100)


@pytest.fixture
def app_overrides():
    return {"DATABASE_POOL_SIZE": 25}


def test_concurrent_spends_never_overdraw_the_balance(pg_app):
    user = make_user("alice")
    now = utcnow()
    with unit_of_work() as session:
        for n, amount in enumerate(LOTS):
            points.award(
                session,
                user,
                amount,
                "order",
                f"order-{n}",
                "purchase",
                expires_at=now + timedelta(days=n + 1),
            )
    total = sum(LOTS)

    def spender(index: int) -> str:
        with unit_of_work() as session:
            points.spend(session, user, COST, "redemption", f"gift-{index}", "a gift")
        return "spent"

    outcomes = run_together(spender, THREADS)
    unexpected = [o for o in outcomes if o != "spent" and not isinstance(o, InsufficientPoints)]
    assert unexpected == []
    successes = outcomes.count("spent")
    assert successes == total // COST
    summary = points.balance(user)
    assert summary.balance == total - successes * COST == entries_sum(user)
    assert summary.balance >= 0
    check_ledger(user)


def test_concurrent_duplicate_awards_count_once(pg_app):
    user = make_user("bob")

    def awarder(_index: int) -> int:
        with unit_of_work() as session:
            return points.award(session, user, 100, "order", "order-1", "purchase").id

    outcomes = run_together(awarder, 20)
    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert len(set(outcomes)) == 1
    assert points.balance(user) == points.PointsSummary(100, 0, 100)
    with unit_of_work() as session:
        earns = session.scalar(select(func.count()).where(PointsEntry.kind == PointsKind.EARN))
    assert earns == 1
