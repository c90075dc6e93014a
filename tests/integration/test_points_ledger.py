"""The carbon points ledger: awards, spends, pending, expiry and reversals, on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from models import PointsEntry, PointsKind, PointsStatus, utcnow
from models.database import read_session, unit_of_work
from services.kernel.errors import InsufficientPoints, ValidationFailed
from services.points import points
from tests.points_support import check_ledger, entries_sum, make_user

DAY = timedelta(days=1)


def _award(user_id, amount, source_id, *, expires_in=None, pending_for=None, source_type="order"):
    now = utcnow()
    with unit_of_work() as session:
        entry = points.award(
            session,
            user_id,
            amount,
            source_type,
            source_id,
            f"award {source_id}",
            pending_until=now + pending_for if pending_for else None,
            expires_at=now + expires_in if expires_in else None,
        )
        return entry.id if entry else None


def _spend(user_id, amount, source_id, now=None):
    with unit_of_work() as session:
        return points.spend(session, user_id, amount, "redemption", source_id, "a gift", now=now).id


def _reverse(source_id, source_type="order"):
    with unit_of_work() as session:
        return points.reverse(session, source_type, source_id, "refund")


def _remaining(entry_id):
    session = read_session()
    session.expire_all()
    value = session.get(PointsEntry, entry_id).remaining
    session.rollback()
    return value


@pytest.fixture(params=["app", pytest.param("pg_app", marks=pytest.mark.postgres)])
def any_app(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def user(any_app):
    return make_user("alice")


def test_award_is_idempotent_per_source(user):
    first = _award(user, 100, "order-1")
    again = _award(user, 100, "order-1")
    assert again == first
    assert points.balance(user) == points.PointsSummary(100, 0, 100)
    assert entries_sum(user) == 100
    check_ledger(user)


def test_award_of_nothing_records_nothing_and_negative_is_refused(user):
    assert _award(user, 0, "order-0") is None
    with pytest.raises(ValidationFailed):
        _award(user, -5, "order-neg")
    assert points.balance(user) == points.PointsSummary(0, 0, 0)
    assert points.history(user)[1] == 0


def test_award_refuses_an_expiry_before_the_points_become_available(user):
    with pytest.raises(ValidationFailed) as info:
        _award(user, 10, "order-x", pending_for=7 * DAY, expires_in=3 * DAY)
    assert "expires_at" in info.value.errors


def test_cached_balance_equals_the_sum_of_entries(user):
    _award(user, 300, "order-1", expires_in=10 * DAY)
    _award(user, 50, "walk-1", source_type="action")
    _spend(user, 120, "gift-1")
    points.adjust(None, user, -30, "correction")
    points.adjust(None, user, 5, "goodwill")
    points.expire_due(utcnow() + 11 * DAY)
    row = check_ledger(user)
    assert row.balance == entries_sum(user) == 300 + 50 - 120 - 30 + 5 - (300 - 120 - 30)


def test_spend_draws_the_soonest_expiring_points_first(user):
    late = _award(user, 100, "order-late", expires_in=30 * DAY)
    never = _award(user, 100, "order-never")
    soon = _award(user, 100, "order-soon", expires_in=10 * DAY)
    _spend(user, 150, "gift-1")
    assert (_remaining(soon), _remaining(late), _remaining(never)) == (0, 50, 100)
    _spend(user, 100, "gift-2")
    assert (_remaining(late), _remaining(never)) == (0, 50)
    check_ledger(user)


def test_spend_is_idempotent_and_refuses_more_than_the_balance(user):
    _award(user, 100, "order-1")
    first = _spend(user, 60, "gift-1")
    assert _spend(user, 60, "gift-1") == first
    with pytest.raises(InsufficientPoints) as info:
        _spend(user, 41, "gift-2")
    assert info.value.details == {"available": 40, "required": 41}
    assert points.balance(user).balance == 40
    check_ledger(user)


def test_expiry_job_expires_only_what_is_unspent_and_only_once(user):
    lot = _award(user, 100, "order-1", expires_in=DAY)
    keeps = _award(user, 20, "order-2", expires_in=30 * DAY)
    _spend(user, 30, "gift-1")
    assert points.expire_due(utcnow()) == points.JobCounts(0, 0)
    assert points.expire_due(utcnow() + 2 * DAY) == points.JobCounts(1, 70)
    assert points.expire_due(utcnow() + 2 * DAY) == points.JobCounts(0, 0)
    assert (_remaining(lot), _remaining(keeps)) == (0, 20)
    assert points.balance(user).balance == 20
    entries, _ = points.history(user)
    assert entries[0].kind == PointsKind.EXPIRE and entries[0].points == -70
    check_ledger(user)


def test_expired_points_cannot_be_spent_even_before_the_job_runs(user):
    _award(user, 100, "order-1", expires_in=DAY)
    _award(user, 10, "order-2")
    with pytest.raises(InsufficientPoints):
        _spend(user, 50, "gift-1", now=utcnow() + 2 * DAY)
    _spend(user, 10, "gift-2", now=utcnow() + 2 * DAY)
    assert points.balance(user).balance == 0
    check_ledger(user)


def test_pending_points_become_available_after_the_refund_window(user):
    lot = _award(user, 100, "order-1", pending_for=7 * DAY, expires_in=365 * DAY)
    assert points.balance(user) == points.PointsSummary(0, 100, 100)
    with pytest.raises(InsufficientPoints):
        _spend(user, 1, "gift-1")
    assert points.release_pending(utcnow() + 6 * DAY) == points.JobCounts(0, 0)
    assert points.release_pending(utcnow() + 8 * DAY) == points.JobCounts(1, 100)
    assert points.balance(user) == points.PointsSummary(100, 0, 100)
    session = read_session()
    assert session.get(PointsEntry, lot).status == PointsStatus.AVAILABLE
    session.rollback()
    check_ledger(user)


def test_a_spend_after_the_window_uses_released_points_without_the_job(user):
    _award(user, 100, "order-1", pending_for=7 * DAY)
    _spend(user, 100, "gift-1", now=utcnow() + 8 * DAY)
    assert points.balance(user) == points.PointsSummary(0, 0, 100)
    check_ledger(user)


def test_refund_within_the_window_takes_back_the_pending_points(user):
    _award(user, 100, "order-1", pending_for=7 * DAY)
    _award(user, 40, "walk-1", source_type="action")
    [reversal] = _reverse("order-1")
    assert (reversal.entry.points, reversal.recovered, reversal.written_off) == (-100, 0, 0)
    assert points.balance(user) == points.PointsSummary(40, 0, 40)
    check_ledger(user)


def test_refund_after_partial_spend_recovers_what_it_can_and_never_goes_negative(user):
    _award(user, 100, "order-1", expires_in=10 * DAY)
    _award(user, 50, "walk-1", source_type="action", expires_in=20 * DAY)
    _spend(user, 80, "gift-1")  # all from order-1, which expires first
    [reversal] = _reverse("order-1")
    assert reversal.entry.points == -20
    assert (reversal.recovered, reversal.written_off) == (50, 30)
    assert points.balance(user) == points.PointsSummary(0, 0, 50)
    kinds = [(e.kind, e.points) for e in points.history(user)[0]]
    assert kinds[:2] == [(PointsKind.ADJUST, -50), (PointsKind.REVERSE, -20)]
    check_ledger(user)


def test_refund_is_idempotent(user):
    _award(user, 100, "order-1")
    _spend(user, 70, "gift-1")
    _award(user, 100, "walk-1", source_type="action")
    first = _reverse("order-1")
    _award(user, 100, "walk-2", source_type="action")
    second = _reverse("order-1")
    assert [(r.entry.id, r.recovered, r.written_off) for r in second] == [
        (r.entry.id, r.recovered, r.written_off) for r in first
    ]
    assert (first[0].recovered, first[0].written_off) == (70, 0)
    assert points.balance(user).balance == 130 + 100 - 100
    check_ledger(user)


def test_refund_of_a_source_that_earned_nothing_does_nothing(user):
    assert _reverse("order-none") == []


def test_database_refuses_a_negative_balance(user):
    _award(user, 10, "order-1")
    with pytest.raises(IntegrityError), unit_of_work() as session:
        session.execute(text("UPDATE points_balances SET balance = -1 WHERE user_id = :u"), {"u": user})


def test_database_refuses_a_second_entry_for_one_source(user):
    _award(user, 10, "order-1")
    with pytest.raises(IntegrityError), unit_of_work() as session:
        existing = session.scalars(select(PointsEntry)).one()
        session.add(
            PointsEntry(
                user_id=user,
                kind=PointsKind.EARN,
                points=10,
                source_type=existing.source_type,
                source_id=existing.source_id,
                status=PointsStatus.AVAILABLE,
                remaining=10,
            )
        )


def test_cli_runs_the_jobs_and_prints_counts(any_app, user):
    _award(user, 100, "order-1", pending_for=timedelta(seconds=1), expires_in=2 * DAY)
    runner = any_app.test_cli_runner()
    with unit_of_work() as session:
        session.execute(
            text("UPDATE points_entries SET available_at = :t, expires_at = :t"),
            {"t": utcnow() - timedelta(seconds=5)},
        )
    released = runner.invoke(args=["points", "release"])
    assert released.exit_code == 0, released.output
    assert "released 100 points of 1 awards" in released.output
    expired = runner.invoke(args=["points", "expire", "--batch-size", "1"])
    assert expired.exit_code == 0, expired.output
    assert "expired 100 points of 1 awards" in expired.output
    assert points.balance(user) == points.PointsSummary(0, 0, 100)
