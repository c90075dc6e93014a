"""Bank partners: registration, signed requests (forgery, replay, staleness), consent scopes, the access log."""

import json
import time
from datetime import timedelta

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select, update

from models import AuditEntry, Consent, Partner, PartnerNonce, utcnow
from models.database import read_session, unit_of_work
from services.kernel import redis_store
from tests.support.accounts import bearer, login_admin
from tests.support.rewards import (
    CARBON_READS,
    carbon_read_body,
    give_points,
    headers_for,
    make_member,
    read_carbon,
    signed_headers,
)


@pytest.fixture
def admin(client):
    token, _ = login_admin(client)
    return bearer(token)


@pytest.fixture
def bank(client, admin):
    """A registered partner: its id, key id and the secret shown at creation."""
    response = client.post("/api/v1/admin/partners", json={"name": "Lishui Rural Bank"}, headers=admin)
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def alice(app):
    user = make_member("alice", openid="oAlice123", unionid="uAlice")
    give_points(user, 1_500)
    return user


def _consent(client, user, partner_id, scopes, days=30):
    expires_at = (utcnow() + timedelta(days=days)).isoformat()
    response = client.post(
        "/api/v1/me/consents",
        json={"partner_id": partner_id, "scopes": scopes, "expires_at": expires_at},
        headers=headers_for(user),
    )
    assert response.status_code == 201, response.json
    return response.json


def _read(client, bank, identifier="oAlice123", scopes=None, **signing):
    return read_carbon(client, bank["key_id"], bank["secret"], identifier, scopes, **signing)


def _post(client, body: bytes, headers: dict[str, str]):
    return client.post(CARBON_READS, data=body, headers=headers, content_type="application/json")


def _access_log(client, user):
    response = client.get("/api/v1/me/consents/access-log", headers=headers_for(user))
    assert response.status_code == 200
    return response.json


# -- registration --


def test_the_secret_is_shown_once_and_stored_encrypted(client, admin, bank):
    assert bank["key_id"].startswith("pk_")
    assert len(bank["secret"]) >= 40
    listed = client.get("/api/v1/admin/partners", headers=admin).json
    assert [p["name"] for p in listed] == ["Lishui Rural Bank"]
    assert "secret" not in listed[0]
    stored = read_session().scalars(select(Partner)).one()
    assert bank["secret"] not in stored.secret_encrypted
    [entry] = read_session().scalars(select(AuditEntry).where(AuditEntry.action == "partner.create")).all()
    assert "secret_encrypted" not in entry.after
    assert bank["secret"] not in json.dumps(entry.after)
    again = client.post("/api/v1/admin/partners", json={"name": "Lishui Rural Bank"}, headers=admin)
    assert again.status_code == 409


def test_users_see_active_partners_only(client, admin, bank):
    other = client.post("/api/v1/admin/partners", json={"name": "Quzhou Bank"}, headers=admin).json
    client.patch(f"/api/v1/admin/partners/{other['id']}", json={"active": False}, headers=admin)
    user = make_member("viewer")
    listed = client.get("/api/v1/partners", headers=headers_for(user)).json
    assert listed == [{"id": bank["id"], "name": "Lishui Rural Bank"}]


# -- signed reads within consent --


def test_a_signed_read_within_consent_returns_only_the_granted_scopes(client, bank, alice):
    _consent(client, alice, bank["id"], ["tier"])
    response = _read(client, bank)
    assert response.status_code == 200, response.json
    assert response.json["scopes"] == ["tier"]
    assert response.json["tier"]["tier"]["name"] == "中绿"
    assert response.json["tier"]["lifetime_earned"] == 1_500
    assert "points_summary" not in response.json

    _consent(client, alice, bank["id"], ["points_summary"])
    both = _read(client, bank, identifier="uAlice")  # by unionid too
    assert both.status_code == 200
    assert both.json["scopes"] == ["points_summary", "tier"]
    assert both.json["points_summary"] == {"balance": 1_500, "lifetime_earned": 1_500}


def test_a_scope_not_granted_is_refused(client, bank, alice):
    _consent(client, alice, bank["id"], ["tier"])
    response = _read(client, bank, scopes=["points_summary"])
    assert response.status_code == 403
    assert "points_summary" in response.json["message"]
    assert _read(client, bank, scopes=["tier"]).status_code == 200


def test_no_consent_is_refused(client, bank, alice):
    response = _read(client, bank)
    assert response.status_code == 403
    assert "tier" not in response.json


def test_a_consent_to_another_partner_does_not_count(client, admin, bank, alice):
    other = client.post("/api/v1/admin/partners", json={"name": "Quzhou Bank"}, headers=admin).json
    _consent(client, alice, other["id"], ["tier", "points_summary"])
    assert _read(client, bank).status_code == 403
    assert _read(client, other).status_code == 200


def test_a_revoked_consent_is_refused_at_once(client, bank, alice):
    consent = _consent(client, alice, bank["id"], ["tier"])
    assert _read(client, bank).status_code == 200
    revoked = client.delete(f"/api/v1/me/consents/{consent['id']}", headers=headers_for(alice))
    assert revoked.status_code == 200
    assert revoked.json["state"] == "revoked"
    assert _read(client, bank).status_code == 403
    listed = client.get("/api/v1/me/consents", headers=headers_for(alice)).json
    assert [(c["id"], c["state"]) for c in listed] == [(consent["id"], "revoked")]


def test_an_expired_consent_is_refused(client, bank, alice):
    consent = _consent(client, alice, bank["id"], ["tier"])
    with unit_of_work() as session:
        session.execute(
            update(Consent)
            .where(Consent.id == consent["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert _read(client, bank).status_code == 403
    assert client.get("/api/v1/me/consents", headers=headers_for(alice)).json[0]["state"] == "expired"


def test_an_unknown_user_looks_the_same_as_one_without_consent(client, bank, alice):
    unknown = _read(client, bank, identifier="oNobody")
    refused = _read(client, bank)
    assert unknown.status_code == refused.status_code == 403
    assert unknown.json["message"] == refused.json["message"]


def test_the_body_is_checked_once_the_signature_holds(client, bank, alice):
    _consent(client, alice, bank["id"], ["tier"])
    cases = [
        ({"scopes": ["tier"]}, "user"),
        ({"user": ""}, "user"),
        ({"user": "o" * 65}, "user"),
        ({"user": 123}, "user"),
        ({"user": "oAlice123", "scopes": []}, "scopes"),
        ({"user": "oAlice123", "scopes": ["everything"]}, "scopes"),
        ({"user": "oAlice123", "scopes": "tier"}, "scopes"),
        ({"user": "oAlice123", "phone": "13800000000"}, "phone"),
    ]
    for value, field in cases:
        body = json.dumps(value).encode()
        response = _post(
            client, body, signed_headers(bank["key_id"], bank["secret"], "POST", CARBON_READS, body)
        )
        assert response.status_code == 422, (value, response.json)
        assert field in response.json["errors"]["json"]
    # An unsigned request is refused before its body is read: 401, never a 422 that probes the schema.
    assert _post(client, b'{"user": ""}', {}).status_code == 401
    assert _read(client, bank, "o" * 64).status_code == 403


def test_no_partner_route_carries_a_path_parameter(app):
    partner_rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/partner/")]
    assert [rule.rule for rule in partner_rules] == [CARBON_READS]
    # The user's openid or unionid travels in the signed body, so no access or proxy log line holds it.
    assert all(not rule.arguments for rule in partner_rules)


def test_the_old_read_by_path_is_gone(client, bank, alice):
    _consent(client, alice, bank["id"], ["tier"])
    old = "/api/v1/partner/users/oAlice123/carbon"
    for method in ("GET", "POST"):
        headers = signed_headers(bank["key_id"], bank["secret"], method, old)
        assert client.open(old, method=method, headers=headers).status_code in (404, 405)
    assert client.get(CARBON_READS).status_code == 405


# -- signatures --


def test_a_forged_signature_is_refused(client, bank, alice):
    _consent(client, alice, bank["id"], ["tier"])
    body = carbon_read_body("oAlice123")
    forged = signed_headers(bank["key_id"], "not-the-secret", "POST", CARBON_READS, body)
    response = _post(client, body, forged)
    assert response.status_code == 401
    assert "signature" in response.json["message"]
    # A signature for another body (another user, other scopes) does not carry over.
    other = signed_headers(bank["key_id"], bank["secret"], "POST", CARBON_READS, carbon_read_body("oBob"))
    assert _post(client, body, other).status_code == 401
    tampered = signed_headers(bank["key_id"], bank["secret"], "POST", CARBON_READS, body)
    assert _post(client, carbon_read_body("oAlice123", ["points_summary"]), tampered).status_code == 401
    # Nor does one for another method or path.
    as_get = signed_headers(bank["key_id"], bank["secret"], "GET", CARBON_READS, body)
    assert _post(client, body, as_get).status_code == 401
    elsewhere = signed_headers(bank["key_id"], bank["secret"], "POST", CARBON_READS + "?x=1", body)
    assert _post(client, body, elsewhere).status_code == 401


def test_a_replayed_nonce_is_refused(client, bank, alice):
    _consent(client, alice, bank["id"], ["tier"])
    body = carbon_read_body("oAlice123")
    headers = signed_headers(bank["key_id"], bank["secret"], "POST", CARBON_READS, body)
    assert _post(client, body, headers).status_code == 200
    replay = _post(client, body, headers)
    assert replay.status_code == 401
    assert "nonce" in replay.json["message"]


def test_a_replayed_nonce_is_refused_while_redis_is_down(client, bank, alice, monkeypatch):
    _consent(client, alice, bank["id"], ["tier"])

    def down(*args, **kwargs):
        raise RedisConnectionError("down")

    monkeypatch.setattr(redis_store.get_redis(), "set", down)
    body = carbon_read_body("oAlice123")
    headers = signed_headers(bank["key_id"], bank["secret"], "POST", CARBON_READS, body)
    assert _post(client, body, headers).status_code == 200
    assert _post(client, body, headers).status_code == 401
    assert read_session().scalars(select(PartnerNonce.nonce)).all() == [headers["X-Nonce"]]


def test_a_stale_or_future_timestamp_is_refused(client, bank, alice):
    _consent(client, alice, bank["id"], ["tier"])
    stale = _read(client, bank, timestamp=int(time.time()) - 301)
    assert stale.status_code == 401
    assert "X-Timestamp" in stale.json["message"]
    # A future timestamp comes nearer as the test runs: a minute past the window stays outside it.
    assert _read(client, bank, timestamp=int(time.time()) + 360).status_code == 401
    assert _read(client, bank, timestamp=int(time.time()) - 200).status_code == 200


def test_unsigned_unknown_or_inactive_partners_are_refused(client, admin, bank, alice):
    _consent(client, alice, bank["id"], ["tier"])
    body = carbon_read_body("oAlice123")
    unsigned = _post(client, body, {})
    assert unsigned.status_code == 401
    assert "X-Signature" in unsigned.json["message"]
    unknown = signed_headers("pk_unknown", bank["secret"], "POST", CARBON_READS, body)
    assert _post(client, body, unknown).status_code == 401
    client.patch(f"/api/v1/admin/partners/{bank['id']}", json={"active": False}, headers=admin)
    assert _read(client, bank).status_code == 401


def test_a_renewed_secret_replaces_the_old_one(client, admin, bank, alice):
    _consent(client, alice, bank["id"], ["tier"])
    renewed = client.post(f"/api/v1/admin/partners/{bank['id']}/secret", headers=admin)
    assert renewed.status_code == 201
    assert renewed.json["secret"] != bank["secret"]
    assert _read(client, bank).status_code == 401
    assert _read(client, {**bank, "secret": renewed.json["secret"]}).status_code == 200


# -- consents and the access log --


def test_consent_input_is_checked(client, bank, alice):
    headers = headers_for(alice)
    soon = (utcnow() + timedelta(days=1)).isoformat()
    cases = [
        ({"partner_id": bank["id"], "scopes": [], "expires_at": soon}, "scopes"),
        ({"partner_id": bank["id"], "scopes": ["everything"], "expires_at": soon}, "scopes"),
        ({"partner_id": bank["id"], "scopes": ["tier"]}, "expires_at"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/me/consents", json=body, headers=headers)
        assert response.status_code == 422
        assert field in response.json["errors"]["json"]
    past = client.post(
        "/api/v1/me/consents",
        json={
            "partner_id": bank["id"],
            "scopes": ["tier"],
            "expires_at": (utcnow() - timedelta(hours=1)).isoformat(),
        },
        headers=headers,
    )
    assert past.status_code == 422
    assert "expires_at" in past.json["errors"]
    too_long = client.post(
        "/api/v1/me/consents",
        json={
            "partner_id": bank["id"],
            "scopes": ["tier"],
            "expires_at": (utcnow() + timedelta(days=400)).isoformat(),
        },
        headers=headers,
    )
    assert too_long.status_code == 422
    unknown = client.post(
        "/api/v1/me/consents",
        json={"partner_id": 9999, "scopes": ["tier"], "expires_at": soon},
        headers=headers,
    )
    assert unknown.status_code == 404


def test_only_the_owner_can_revoke_a_consent(client, bank, alice):
    consent = _consent(client, alice, bank["id"], ["tier"])
    mallory = make_member("mallory")
    assert (
        client.delete(f"/api/v1/me/consents/{consent['id']}", headers=headers_for(mallory)).status_code == 404
    )
    assert _read(client, bank).status_code == 200


def test_every_read_is_logged_and_the_user_sees_it(client, bank, alice):
    bob = make_member("bob", openid="oBob")
    _consent(client, alice, bank["id"], ["tier"])
    assert _read(client, bank).status_code == 200
    assert _read(client, bank, scopes=["points_summary"]).status_code == 403
    assert _read(client, bank, identifier="oBob").status_code == 403

    log = _access_log(client, alice)
    assert [(e["partner"]["name"], e["scopes"], e["outcome"]) for e in log] == [
        ("Lishui Rural Bank", ["points_summary"], "denied"),
        ("Lishui Rural Bank", ["tier"], "granted"),
    ]
    assert log[0]["at"] >= log[1]["at"]
    assert [e["outcome"] for e in _access_log(client, bob)] == ["denied"]
    paged = client.get("/api/v1/me/consents/access-log?page=1&page_size=1", headers=headers_for(alice))
    assert len(paged.json) == 1
    assert '"total": 2' in paged.headers["X-Pagination"]


def test_consent_endpoints_need_a_login(client):
    assert client.get("/api/v1/me/consents").status_code == 401
    assert client.get("/api/v1/me/consents/access-log").status_code == 401
    assert client.get("/api/v1/partners").status_code == 401
