"""On PostgreSQL: cancelling and revoking under row locks, and a partner's signed read end to end."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import PointsEntry, PointsKind, RedemptionState, RewardItem, utcnow
from models.database import read_session
from services.kernel.errors import InvalidState
from services.points import points
from services.rewards import rewards, rewards_admin
from services.rewards.rewards import RedeemRequest
from tests.points_support import check_ledger
from tests.support.accounts import bearer, login_admin
from tests.support.concurrency import run_together
from tests.support.rewards import create_item, give_points, headers_for, make_member, read_carbon

pytestmark = pytest.mark.postgres


def test_concurrent_cancels_refund_once(pg_app):
    item = create_item(cost_points=250, stock=1)
    user = make_member("cancelled")
    give_points(user, 300)
    redemption = rewards.redeem(user, RedeemRequest(item), "k").id

    def cancel(_index: int) -> str:
        return rewards_admin.move_redemption(
            None, redemption, RedemptionState.CANCELLED, refund_expiry_days=30
        ).state

    outcomes = run_together(cancel, 8)
    assert outcomes.count(RedemptionState.CANCELLED) == 1
    assert all(isinstance(o, InvalidState) for o in outcomes if o != RedemptionState.CANCELLED)
    assert points.balance(user).balance == 300
    session = read_session()
    session.expire_all()
    assert session.get(RewardItem, item).stock == 1
    refund = session.scalars(select(PointsEntry).where(PointsEntry.kind == PointsKind.ADJUST)).one()
    assert refund.expires_at > utcnow() + timedelta(days=29)
    check_ledger(user)


def test_partner_read_consent_revoke_and_log_on_postgres(pg_client):
    admin = bearer(login_admin(pg_client)[0])
    bank = pg_client.post("/api/v1/admin/partners", json={"name": "Wendeng Bank"}, headers=admin).json
    user = make_member("pg-alice", openid="oPgAlice")
    give_points(user, 1_000)
    me = headers_for(user)
    consent = pg_client.post(
        "/api/v1/me/consents",
        json={
            "partner_id": bank["id"],
            "scopes": ["tier", "points_summary"],
            "expires_at": (utcnow() + timedelta(days=90)).isoformat(),
        },
        headers=me,
    ).json

    def read():
        return read_carbon(pg_client, bank["key_id"], bank["secret"], "oPgAlice", ["tier"])

    granted = read()
    assert granted.status_code == 200, granted.json
    assert granted.json["tier"]["tier"]["code"] == "mid_green"
    assert pg_client.delete(f"/api/v1/me/consents/{consent['id']}", headers=me).json["state"] == "revoked"
    assert read().status_code == 403
    log = pg_client.get("/api/v1/me/consents/access-log", headers=me).json
    assert [(e["outcome"], e["scopes"]) for e in log] == [("denied", ["tier"]), ("granted", ["tier"])]
