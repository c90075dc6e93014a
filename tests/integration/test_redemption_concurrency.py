"""On PostgreSQL: concurrent redemptions never go beyond the stock, the codes, the limit or the balance."""

import pytest
from sqlalchemy import func, select

from api.errors import status_for
from models import CouponCode, PointsBalance, Redemption, RewardItem
from models.database import read_session
from services.kernel.errors import DomainError, InsufficientPoints, OutOfStock, RedemptionLimitReached
from services.points import points
from services.rewards import rewards, rewards_admin
from services.rewards.rewards import RedeemRequest
from tests.points_support import check_ledger
from tests.support.concurrency import run_together
from tests.support.rewards import create_item, give_points, make_member

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_overrides():
    return {"DATABASE_POOL_SIZE": 25}


def _fresh():
    session = read_session()
    session.expire_all()
    return session


def test_a_hundred_users_race_for_the_last_units(pg_app):
    stock = 7
    item = create_item(cost_points=100, stock=stock)
    users = [make_member(f"racer-{n}") for n in range(100)]
    for user in users:
        give_points(user, 150)

    def racer(index: int) -> int:
        return rewards.redeem(users[index], RedeemRequest(item), f"race-{index}").id

    outcomes = run_together(racer, len(users))
    won = [o for o in outcomes if isinstance(o, int)]
    lost = [o for o in outcomes if not isinstance(o, int)]
    assert len(won) == stock
    assert all(isinstance(o, OutOfStock) and status_for(o) == 409 for o in lost), lost[:3]

    session = _fresh()
    assert session.get(RewardItem, item).stock == 0
    assert session.scalar(select(func.count()).select_from(Redemption)) == stock
    balances = dict(session.execute(select(PointsBalance.user_id, PointsBalance.balance)).all())
    winners = set(session.scalars(select(Redemption.user_id)))
    assert all(balance >= 0 for balance in balances.values())
    assert sorted(balances[u] for u in users) == [50] * stock + [150] * (100 - stock)
    assert all(balances[u] == 50 for u in winners)
    for user in users[:10]:
        check_ledger(user)


def test_concurrent_redemptions_hand_out_each_code_once(pg_app):
    item = create_item(kind="voucher", cost_points=10, uses_codes=True)
    rewards_admin.generate_codes(None, item, 10)
    users = [make_member(f"rider-{n}") for n in range(40)]
    for user in users:
        give_points(user, 10)

    outcomes = run_together(
        lambda i: rewards.redeem(users[i], RedeemRequest(item), f"ride-{i}").id, len(users)
    )
    won = [o for o in outcomes if isinstance(o, int)]
    assert len(won) == 10
    assert all(isinstance(o, OutOfStock) for o in outcomes if not isinstance(o, int))

    session = _fresh()
    assigned = session.execute(
        select(CouponCode.code, CouponCode.redemption_id).where(CouponCode.state == "assigned")
    ).all()
    assert len(assigned) == 10
    assert len({code for code, _ in assigned}) == 10
    assert sorted(redemption for _, redemption in assigned) == sorted(won)
    assert sum(points.balance(u).balance for u in users) == 30 * 10


def test_one_user_tapping_many_times_never_overdraws(pg_app):
    item = create_item(cost_points=100)  # unlimited stock
    user = make_member("tapper")
    give_points(user, 350)

    outcomes = run_together(lambda i: rewards.redeem(user, RedeemRequest(item), f"tap-{i}").id, 20)
    assert sum(isinstance(o, int) for o in outcomes) == 3
    assert all(isinstance(o, InsufficientPoints) for o in outcomes if not isinstance(o, int))
    assert points.balance(user).balance == 50
    assert _fresh().get(RewardItem, item).stock is None
    check_ledger(user)


def test_the_per_user_limit_holds_under_concurrency(pg_app):
    item = create_item(cost_points=10, per_user_limit=2, stock=50)
    user = make_member("greedy")
    give_points(user, 1_000)

    outcomes = run_together(lambda i: rewards.redeem(user, RedeemRequest(item), f"greedy-{i}").id, 12)
    assert sum(isinstance(o, int) for o in outcomes) == 2
    assert all(isinstance(o, RedemptionLimitReached) for o in outcomes if not isinstance(o, int))
    assert points.balance(user).balance == 980
    assert _fresh().get(RewardItem, item).stock == 48


def test_one_key_sent_many_times_at_once_redeems_once(pg_app):
    item = create_item(cost_points=100, stock=10)
    user = make_member("retrier")
    give_points(user, 1_000)

    outcomes = run_together(lambda _i: rewards.redeem(user, RedeemRequest(item, "door 3"), "one-key").id, 10)
    assert not [o for o in outcomes if isinstance(o, DomainError | Exception)], outcomes
    assert len(set(outcomes)) == 1
    assert points.balance(user).balance == 900
    assert _fresh().get(RewardItem, item).stock == 9
    check_ledger(user)
