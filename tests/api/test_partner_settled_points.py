"""A bank partner reads tiers and points from settled points only: a purchase still inside its refund
window lifts nothing a bank sees; the user sees those points apart, as pending."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import utcnow
from services.points import points
from tests.support.accounts import bearer, login_admin
from tests.support.pool import stock_pool
from tests.support.rewards import headers_for, make_member, read_carbon

UNITS = 100  # 1,000 kg: 1,000 points at 1 point per kg, the 中绿 threshold


def _setup(client) -> tuple[dict, dict]:
    admin = bearer(login_admin(client)[0])
    bank = client.post("/api/v1/admin/partners", json={"name": "Lishui Rural Bank"}, headers=admin).json
    user = headers_for(make_member("alice", openid="oAliceSettled"))
    consent = client.post(
        "/api/v1/me/consents",
        json={
            "partner_id": bank["id"],
            "scopes": ["tier", "points_summary"],
            "expires_at": (utcnow() + timedelta(days=90)).isoformat(),
        },
        headers=user,
    )
    assert consent.status_code == 201, consent.json
    return bank, user


def _bank_reads(client, bank) -> tuple[str | None, int, dict]:
    response = read_carbon(client, bank["key_id"], bank["secret"], "oAliceSettled")
    assert response.status_code == 200, response.json
    tier = response.json["tier"]
    return (tier["tier"] or {}).get("name"), tier["lifetime_earned"], response.json["points_summary"]


def _my_tier(client, user) -> tuple[str | None, int, int]:
    tier = client.get("/api/v1/me/tier", headers=user).json
    return (tier["tier"] or {}).get("name"), tier["lifetime_earned"], tier["pending"]


def _bank_sees_settled_points_only(client, monkeypatch, pending_days: int) -> None:
    stock_pool(tonnes=2)
    bank, user = _setup(client)
    placed = client.post("/api/v1/orders", json={"product": "one_yuan", "units": UNITS}, headers=user)
    assert placed.status_code == 201, placed.json
    number = placed.json["order"]["out_trade_no"]
    assert client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=user).json["status"] == "fulfilled"

    # Inside the refund window: the bank sees nothing of it; the user sees it pending.
    assert _bank_reads(client, bank) == (None, 0, {"balance": 0, "lifetime_earned": 0})
    assert _my_tier(client, user) == (None, 0, 1_000)
    assert client.get("/api/v1/me/points", headers=user).json["pending"] == 1_000

    # The window closes (the release job has not run yet): the points settle for the bank and the user.
    later = utcnow() + timedelta(days=pending_days, hours=1)
    monkeypatch.setattr("services.rewards.consents.utcnow", lambda: later)
    monkeypatch.setattr("services.points.points.utcnow", lambda: later)
    settled = ("中绿", 1_000, {"balance": 1_000, "lifetime_earned": 1_000})
    assert _bank_reads(client, bank) == settled
    assert _my_tier(client, user) == ("中绿", 1_000, 0)
    assert points.release_pending(later).points == 1_000
    assert _bank_reads(client, bank) == settled


def test_a_purchase_inside_its_refund_window_lifts_no_tier_a_bank_sees(client, app, monkeypatch):
    _bank_sees_settled_points_only(client, monkeypatch, app.config["POINTS_PENDING_DAYS"])


@pytest.mark.postgres
def test_a_bank_sees_settled_points_only_on_postgres(pg_client, pg_app, monkeypatch):
    _bank_sees_settled_points_only(pg_client, monkeypatch, pg_app.config["POINTS_PENDING_DAYS"])


def test_a_purchase_refunded_inside_its_window_never_reaches_the_bank(client):
    stock_pool(tonnes=2)
    bank, user = _setup(client)
    placed = client.post("/api/v1/orders", json={"product": "one_yuan", "units": UNITS}, headers=user)
    number = placed.json["order"]["out_trade_no"]
    assert client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=user).status_code == 200
    refund = client.post(f"/api/v1/orders/{number}/refunds", json={}, headers=user)
    assert refund.status_code == 201 and refund.json["status"] == "succeeded", refund.json

    assert _bank_reads(client, bank) == (None, 0, {"balance": 0, "lifetime_earned": 0})
    assert _my_tier(client, user) == (None, 0, 0)
