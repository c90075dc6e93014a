"""On PostgreSQL: batching users' reductions (insert from select, the unique action key), issuance into
the pool, concurrent builds and concurrent purchases whose proceeds lock many users' points."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import ActionKind, PointsEntry, PointsSource, ReductionBatchAction, ReductionSale
from models.database import unit_of_work
from services.kernel.errors import Conflict
from services.pool.pool_audit import run_audit
from services.reductions import batch_building
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.concurrency import run_together
from tests.support.reductions import (
    TONNE,
    build,
    closed_month,
    day_in,
    make_action,
    make_user,
    submit_and_issue,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_overrides():
    return {"DATABASE_POOL_SIZE": 10}


@pytest.fixture
def admin(pg_client):
    return bearer(login_admin(pg_client)[0])


def test_two_builds_at_once_put_every_action_in_one_batch(pg_client, admin):
    month = closed_month()
    users = [make_user(f"pg-reducer-{i}") for i in range(6)]
    for index, user in enumerate(users):
        for day in range(1, 4):
            make_action(user, day_in(month, day), ActionKind.METRO, 1_000 + index)

    outcomes = run_together(lambda _index: batch_building.build_batches(None, month), 2)

    made = [outcome for outcome in outcomes if isinstance(outcome, list)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert len(made) == 1 and len(refused) == 1 and isinstance(refused[0], Conflict), outcomes
    with unit_of_work() as session:
        count, distinct = session.execute(
            select(func.count(), func.count(func.distinct(ReductionBatchAction.action_id)))
        ).one()
    assert count == distinct == 18
    assert made[0][0]["grams"] == sum(3 * (1_000 + i) for i in range(6))
    assert list(run_audit()) == []


def test_contributors_who_buy_each_others_reductions_at_once_are_paid_exactly(pg_client, admin):
    """Buyers who are themselves contributors: the proceeds lock everyone's points in one order."""
    client = pg_client
    month = closed_month()
    people = []
    for name in "abcd":
        token, user = login_user(client, f"pg-contributor-{name}")
        people.append((user["id"], bearer(token)))
    for index, (user_id, _headers) in enumerate(people):
        make_action(user_id, day_in(month, 2), ActionKind.BUS, 400_000 + 50_000 * index)
    batch = build(client, admin, month).json[0]
    issued = submit_and_issue(client, admin, batch["id"], price_fen_per_t=40_000)
    project_id = issued["pool"]["project_id"]

    def buy(index: int) -> int:
        headers = people[index][1]
        placed = client.post(
            "/api/v1/orders",
            json={"product": "credits", "project_id": project_id, "kg": 250},
            headers=headers,
        )
        assert placed.status_code == 201, placed.json
        number = placed.json["order"]["out_trade_no"]
        paid = client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=headers)
        assert paid.status_code == 200 and paid.json["status"] == "fulfilled", paid.json
        return placed.json["order"]["amount_fen"]

    amounts = run_together(buy, 4)
    assert all(isinstance(amount, int) for amount in amounts), amounts
    orders = client.get("/api/v1/orders", headers=people[0][1]).json
    refunded = client.post(
        f"/api/v1/orders/{orders[0]['out_trade_no']}/refunds", json={"grams": 100_000}, headers=people[0][1]
    )
    assert refunded.status_code == 201 and refunded.json["status"] == "succeeded", refunded.json
    amounts[0] -= refunded.json["amount_fen"]
    with unit_of_work() as session:
        sales = session.scalars(select(ReductionSale).where(ReductionSale.reversed_at.is_(None))).all()
        awarded = session.scalar(
            select(func.sum(PointsEntry.points)).where(PointsEntry.source_type == PointsSource.REDUCTION)
        )
    assert sorted(sale.amount_fen for sale in sales) == sorted(amounts)
    assert sum(sale.grams for sale in sales) == TONNE - 100_000
    assert awarded == sum(sale.points for sale in sales)
    assert list(run_audit()) == []
