"""Account deletion on PostgreSQL: requests racing for one account, a login racing the deletion job,
and the deletion itself with row locks and the partial unique index the SQLite demo does not need."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from models import AccountDeletion, DeletionStatus, User, utcnow
from models.database import read_session, unit_of_work
from services.accounts import account_deletion
from services.personal_data.erasure import carry_out_due
from tests.points_support import check_ledger
from tests.support.accounts import bearer, login_user
from tests.support.concurrency import run_together
from tests.support.pool import stock_pool
from tests.support.rewards import give_points
from tests.support.sales import buy

pytestmark = pytest.mark.postgres


def _pending(user_id: int) -> int:
    session = read_session()
    try:
        return session.scalar(
            select(func.count())
            .select_from(AccountDeletion)
            .where(AccountDeletion.user_id == user_id, AccountDeletion.status == DeletionStatus.PENDING)
        )
    finally:
        session.rollback()


def test_racing_requests_make_one_pending_deletion(pg_client):
    _token, user = login_user(pg_client, "racer-code")

    outcomes = run_together(lambda _i: account_deletion.request_deletion(user["id"], 15).id, 6)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert len(set(outcomes)) == 1
    assert _pending(user["id"]) == 1


def test_the_deletion_runs_on_postgres_and_a_racing_login_either_cancels_it_or_finds_it_done(pg_client):
    stock_pool(tonnes=1)
    token, user = login_user(pg_client, "pg-alice")
    buy(pg_client, bearer(token), 1, holder_name="王五")
    give_points(user["id"], 300)
    assert (
        pg_client.post("/api/v1/me/deletion", json={"confirm": True}, headers=bearer(token)).status_code
        == 202
    )
    with unit_of_work() as session:
        session.execute(update(AccountDeletion).values(due_at=utcnow() - timedelta(seconds=1)))

    def race(index: int):
        if index == 0:
            return carry_out_due(7)
        return pg_client.post("/api/v1/auth/login", json={"code": "pg-alice"}).json

    run, login = run_together(race, 2)

    session = read_session()
    request = session.scalar(select(AccountDeletion).where(AccountDeletion.user_id == user["id"]))
    deleted = session.get(User, user["id"])
    session.rollback()
    if request.status == DeletionStatus.CANCELLED:  # the login came first: nothing was erased
        assert run.completed == 0 and login["account_deletion_cancelled"] is True
        assert deleted.deleted_at is None and deleted.openid is not None
    else:  # the job came first: the account is gone, and the login found a new one or none usable
        assert request.status == DeletionStatus.COMPLETED and run.completed == 1
        assert deleted.deleted_at is not None and deleted.openid is None
        assert check_ledger(user["id"]).balance == 0
        assert pg_client.get("/api/v1/me", headers=bearer(token)).status_code == 401
        # The login either made a new account, or (it read the user before the deletion committed)
        # holds a token of the deleted one, which is refused like every other.
        answer = pg_client.get("/api/v1/me", headers=bearer(login["token"]))
        if login["user"]["id"] == user["id"]:
            assert answer.status_code == 401
        else:
            assert answer.status_code == 200 and answer.json["id"] == login["user"]["id"]
