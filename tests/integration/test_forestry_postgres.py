"""On PostgreSQL: adopters racing for a plot's last trees never take more than it has, and the same
Idempotency-Key sent twice at once makes one adoption."""

import threading

import pytest
from sqlalchemy import func, select

from models import Adoption, Order
from models.database import db_session, unit_of_work
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.forestry import audit_violations, memorial_forest

pytestmark = pytest.mark.postgres

ADOPTERS = 12


@pytest.fixture
def app_overrides():
    return {"DATABASE_POOL_SIZE": 20}


def _together(count, work):
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(index):
        try:
            barrier.wait(timeout=60)
            results[index] = work(index)
        finally:
            db_session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_racing_adopters_share_the_trees_out_once_and_a_key_makes_one_adoption(pg_client):
    admin = bearer(login_admin(pg_client)[0])
    plot_id = memorial_forest(pg_client, admin, plot={"tree_capacity": 10})["plot"]["id"]
    headers = [bearer(login_user(pg_client, f"racer-{i}")[0]) for i in range(ADOPTERS)]

    statuses = _together(
        ADOPTERS,
        lambda i: (
            pg_client.post(
                "/api/v1/adoptions", json={"plot_id": plot_id, "trees": 3}, headers=headers[i]
            ).status_code
        ),
    )
    assert sorted(statuses) == [201] * 3 + [409] * (ADOPTERS - 3)
    with unit_of_work() as session:
        held = session.scalar(select(func.sum(Adoption.trees)).where(Adoption.plot_id == plot_id))
        assert held == 9

    keyed = {**headers[0], "Idempotency-Key": "same-key"}
    body = {"plot_id": plot_id, "trees": 1}
    answers = _together(2, lambda _: pg_client.post("/api/v1/adoptions", json=body, headers=keyed))
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json["adoption"]["id"] == answers[1].json["adoption"]["id"]
    with unit_of_work() as session:
        assert session.scalar(select(func.count(Order.id)).where(Order.channel == "adoption")) == 4
    assert audit_violations() == []
