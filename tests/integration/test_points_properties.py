"""Property: any sequence of awards, spends, refunds, adjustments and job runs keeps the ledger sound.

After every step the balance is never negative, equals the remaining points of the available lots,
`balance + pending` equals the sum of the entries, and every lot and every use add up.
"""

from datetime import timedelta
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from models import PointsEntry, PointsKind, PointsStatus, PointsUse, utcnow
from models.database import read_session, unit_of_work
from services.kernel.errors import InsufficientPoints
from services.points import points
from tests.points_support import check_ledger, make_user

DAY = timedelta(days=1)
_users = count(1)

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("award"), st.integers(1, 300), st.sampled_from([False, False, True]), st.integers(1, 20)
        ),
        st.tuples(st.just("spend"), st.integers(1, 150)),
        st.tuples(st.just("advance"), st.integers(0, 30), st.booleans()),
        st.tuples(st.just("reverse"), st.integers(0, 50), st.booleans()),
        st.tuples(st.just("adjust"), st.integers(-300, -1) | st.integers(1, 300)),
    ),
    max_size=30,
)


def _spendable(user_id, now):
    session = read_session()
    value = session.scalar(
        select(func.coalesce(func.sum(PointsEntry.remaining), 0)).where(
            PointsEntry.user_id == user_id,
            PointsEntry.remaining > 0,
            or_(PointsEntry.status == PointsStatus.AVAILABLE, PointsEntry.available_at <= now),
            or_(PointsEntry.expires_at.is_(None), PointsEntry.expires_at > now),
        )
    )
    session.rollback()
    return value


def _spent_sources(user_id):
    """Sources of the user's awards that spends have drawn on: refunds of these are the hard case."""
    session = read_session()
    spend = aliased(PointsEntry)
    sources = session.scalars(
        select(PointsEntry.source_id)
        .join(PointsUse, PointsUse.lot_id == PointsEntry.id)
        .join(spend, spend.id == PointsUse.debit_id)
        .where(
            PointsEntry.user_id == user_id,
            PointsEntry.kind == PointsKind.EARN,
            spend.kind == PointsKind.SPEND,
        )
        .distinct()
        .order_by(PointsEntry.source_id)
    ).all()
    session.rollback()
    return list(sources)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_any_sequence_keeps_the_ledger_sound(app, steps):
    user = make_user(f"prop-{next(_users)}")
    clock = utcnow()
    awarded: list[str] = []
    for n, step in enumerate(steps):
        match step:
            case ("award", amount, pending, days):
                pending_until = clock + 7 * DAY if pending else None
                expires_at = clock + (7 * pending + days) * DAY
                with unit_of_work() as session:
                    points.award(
                        session, user, amount, "order", f"u{user}-o{n}", "buy", pending_until, expires_at
                    )
                awarded.append(f"u{user}-o{n}")
            case ("spend", amount):
                spendable = _spendable(user, clock)
                try:
                    with unit_of_work() as session:
                        points.spend(session, user, amount, "redemption", f"u{user}-r{n}", "gift", now=clock)
                except InsufficientPoints:
                    assert amount > spendable
                else:
                    assert amount <= spendable
            case ("advance", days, expire_first):
                clock += days * DAY
                jobs = [points.release_pending, points.expire_due]
                for job in reversed(jobs) if expire_first else jobs:
                    job(clock)
            case ("reverse", pick, prefer_spent):
                candidates = (_spent_sources(user) if prefer_spent else []) or awarded
                if candidates:
                    with unit_of_work() as session:
                        [reversal] = points.reverse(
                            session, "order", candidates[pick % len(candidates)], "refund"
                        )
                    assert reversal.recovered >= 0 and reversal.written_off >= 0
            case ("adjust", amount):
                available = points.balance(user).balance
                try:
                    points.adjust(None, user, amount, "correction")
                except InsufficientPoints:
                    assert -amount > available
        check_ledger(user)
