"""`points.refund_spend`: a spend given back once, as a new lot, without counting as earned."""

from datetime import timedelta

from models import PointsKind, utcnow
from models.database import unit_of_work
from services.points import points
from tests.points_support import check_ledger, make_user


def test_a_spend_is_refunded_once_as_a_new_available_lot(app):
    user = make_user("alice")
    with unit_of_work() as session:
        points.award(session, user, 500, "order", "o-1", "purchase")
        points.spend(session, user, 200, "redemption", "r-1", "Reward")
    expires_at = utcnow() + timedelta(days=30)
    with unit_of_work() as session:
        first = points.refund_spend(session, user, "redemption", "r-1", "Cancelled", expires_at)
    with unit_of_work() as session:
        again = points.refund_spend(session, user, "redemption", "r-1", "Cancelled", expires_at)
    assert first.id == again.id
    assert (first.kind, first.points, first.remaining) == (PointsKind.ADJUST, 200, 200)
    assert first.expires_at == expires_at
    assert points.balance(user) == points.PointsSummary(500, 0, 500)
    check_ledger(user)
    # The refunded points can be spent again.
    with unit_of_work() as session:
        points.spend(session, user, 500, "redemption", "r-2", "Reward")
    assert points.balance(user).balance == 0
    check_ledger(user)


def test_nothing_to_refund_without_a_spend(app):
    user = make_user("bob")
    with unit_of_work() as session:
        assert points.refund_spend(session, user, "redemption", "r-404", "Cancelled") is None
    assert points.balance(user) == points.PointsSummary(0, 0, 0)
