"""Carbon points over HTTP: a user's own balance and history; admin adjustments, audit-logged."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import AuditEntry, Role, utcnow
from models.database import read_session, unit_of_work
from services.points import points
from tests.points_support import check_ledger, make_user, token_for


def _bearer(user_id):
    return {"Authorization": f"Bearer {token_for(user_id)}"}


def _award(user_id, amount, source_id, pending=False):
    now = utcnow()
    with unit_of_work() as session:
        points.award(
            session,
            user_id,
            amount,
            "order",
            source_id,
            f"One-yuan carbon sink {source_id}",
            pending_until=now + timedelta(days=7) if pending else None,
        )


@pytest.fixture
def alice(app):
    return make_user("alice")


@pytest.fixture
def bob(app):
    return make_user("bob")


@pytest.fixture
def admin(app):
    return make_user("root", Role.ADMIN)


def test_points_need_a_token(client):
    assert client.get("/api/v1/me/points").status_code == 401
    assert client.get("/api/v1/me/points/history").status_code == 401


def test_a_new_user_has_no_points(client, alice):
    response = client.get("/api/v1/me/points", headers=_bearer(alice))
    assert response.status_code == 200
    assert response.json == {"balance": 0, "pending": 0, "lifetime_earned": 0}


def test_each_user_sees_only_their_own_points(client, alice, bob):
    _award(alice, 100, "A-1")
    _award(alice, 30, "A-2", pending=True)
    _award(bob, 7, "B-1")
    with unit_of_work() as session:
        points.spend(session, bob, 2, "redemption", "gift-1", "Reusable bag")
    mine = client.get("/api/v1/me/points", headers=_bearer(alice)).json
    assert mine == {"balance": 100, "pending": 30, "lifetime_earned": 130}
    theirs = client.get("/api/v1/me/points", headers=_bearer(bob)).json
    assert theirs == {"balance": 5, "pending": 0, "lifetime_earned": 7}
    history = client.get("/api/v1/me/points/history", headers=_bearer(bob))
    assert [(e["source_id"], e["points"], e["status"]) for e in history.json] == [
        ("gift-1", -2, None),
        ("B-1", 7, "available"),
    ]


def test_history_is_newest_first_and_paginated(client, alice):
    for n in range(5):
        _award(alice, 10 + n, f"A-{n}")
    response = client.get("/api/v1/me/points/history?page=2&page_size=2", headers=_bearer(alice))
    assert response.status_code == 200
    assert [e["source_id"] for e in response.json] == ["A-2", "A-1"]
    assert json.loads(response.headers["X-Pagination"])["total"] == 5
    entry = response.json[0]
    assert entry["kind"] == "earn" and entry["status"] == "available" and entry["remaining"] == 12


def test_history_refuses_a_bad_page(client, alice):
    response = client.get("/api/v1/me/points/history?page=0", headers=_bearer(alice))
    assert response.status_code == 422
    assert "page" in json.dumps(response.json["errors"])


def test_only_admins_adjust_points(client, alice):
    response = client.post(
        "/api/v1/admin/points/adjust",
        json={"user_id": alice, "points": 50, "reason": "x"},
        headers=_bearer(alice),
    )
    assert response.status_code == 403
    assert points.balance(alice).balance == 0


def test_admin_adjustment_changes_the_balance_and_is_audited(client, alice, admin):
    _award(alice, 100, "A-1")
    response = client.post(
        "/api/v1/admin/points/adjust",
        json={"user_id": alice, "points": -40, "reason": "Steps from a fake device"},
        headers=_bearer(admin),
    )
    assert response.status_code == 201
    assert response.json["kind"] == "adjust" and response.json["points"] == -40
    assert points.balance(alice).balance == 60
    session = read_session()
    [entry] = session.scalars(select(AuditEntry)).all()
    assert (entry.actor_id, entry.action, entry.entity, entry.entity_id) == (
        admin,
        "points.adjust",
        "points_balance",
        str(alice),
    )
    assert entry.before["balance"] == 100
    assert entry.after["balance"] == 60
    assert entry.after["entry"]["reason"] == "Steps from a fake device"
    session.rollback()
    check_ledger(alice)


def test_admin_grant_is_spendable_and_expires(client, alice, admin, app):
    response = client.post(
        "/api/v1/admin/points/adjust",
        json={"user_id": alice, "points": 25, "reason": "Goodwill"},
        headers=_bearer(admin),
    )
    assert response.status_code == 201
    assert response.json["expires_at"] is not None
    assert points.balance(alice) == points.PointsSummary(25, 0, 0)
    days = app.config["POINTS_EXPIRY_DAYS"]
    assert points.expire_due(utcnow() + timedelta(days=days + 1)).points == 25


def test_admin_cannot_take_more_than_the_user_has(client, alice, admin):
    _award(alice, 10, "A-1")
    response = client.post(
        "/api/v1/admin/points/adjust",
        json={"user_id": alice, "points": -11, "reason": "too much"},
        headers=_bearer(admin),
    )
    assert response.status_code == 409
    assert response.json["error"] == "insufficient_points"
    assert points.balance(alice).balance == 10
    assert read_session().scalars(select(AuditEntry)).all() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"points": 5, "reason": "r"}, "user_id"),
        ({"user_id": 1, "points": 0, "reason": "r"}, "points"),
        ({"user_id": 1, "points": "5", "reason": "r"}, "points"),
        ({"user_id": 1, "points": 5, "reason": ""}, "reason"),
        ({"user_id": 1, "points": 5, "reason": "r" * 201}, "reason"),
    ],
)
def test_adjustment_input_errors_name_the_field(client, admin, body, field):
    response = client.post("/api/v1/admin/points/adjust", json=body, headers=_bearer(admin))
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]


def test_adjusting_an_unknown_user_is_404(client, admin):
    response = client.post(
        "/api/v1/admin/points/adjust",
        json={"user_id": 999_999, "points": 5, "reason": "r"},
        headers=_bearer(admin),
    )
    assert response.status_code == 404


def test_an_adjustment_reference_is_applied_once(client, alice, admin):
    body = {"user_id": alice, "points": 5, "reason": "Prize", "reference": "prize-2026-01"}
    first = client.post("/api/v1/admin/points/adjust", json=body, headers=_bearer(admin))
    again = client.post("/api/v1/admin/points/adjust", json=body, headers=_bearer(admin))
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"]
    assert points.balance(alice).balance == 5
    other = client.post("/api/v1/admin/points/adjust", json={**body, "points": 6}, headers=_bearer(admin))
    assert other.status_code == 422
    assert "reference" in other.json["errors"]


def test_points_endpoints_are_documented(client):
    spec = client.get("/api/openapi.json").json
    adjust = spec["paths"]["/api/v1/admin/points/adjust"]["post"]
    assert {"401", "403", "404", "409", "422"} <= set(adjust["responses"])
    assert spec["paths"]["/api/v1/me/points"]["get"]["summary"]
