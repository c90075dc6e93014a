"""The privacy guide (用户隐私保护指引): served to anyone, versioned, accepted at login, asked again when
an admin publishes a new version."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditEntry, PrivacyAcceptance
from models.database import read_session
from services.accounts.privacy_guide import shipped
from tests.support.accounts import bearer, login_admin, login_user


@pytest.fixture
def app_overrides():
    return {"PRIVACY_CONTACT": "privacy@carbon.example.cn", "ACCOUNT_DELETION_COOLING_OFF_DAYS": 10}


@pytest.fixture
def admin(client):
    token, _ = login_admin(client)
    return bearer(token)


def _accepted(user_id):
    session = read_session()
    try:
        return session.scalars(
            select(PrivacyAcceptance.version)
            .where(PrivacyAcceptance.user_id == user_id)
            .order_by(PrivacyAcceptance.id)
        ).all()
    finally:
        session.rollback()


def _login(client, code, **body):
    return client.post("/api/v1/auth/login", json={"code": code, **body})


def _publish(client, admin, version="2027-01-15", **body):
    payload = {
        "version": version,
        "title": "用户隐私保护指引（2027 年版）",
        "body": "新增：{{contact}}。",
        **body,
    }
    return client.post("/api/v1/admin/privacy/guide", json=payload, headers=admin)


def test_the_guide_is_public_and_says_what_this_deployment_does(client):
    guide = client.get("/api/v1/privacy/guide")

    assert guide.status_code == 200
    body = guide.json
    assert body["version"] == shipped().version and body["current"] is True
    assert body["published_at"] is None and body["title"] == "用户隐私保护指引"
    text = body["body"]
    # What this backend collects, and why.
    for word in (
        "openid",
        "unionid",
        "session_key",
        "手机号",
        "微信运动",
        "出行",
        "碳足迹",
        "订单",
        "微信支付",
    ):
        assert word in text, word
    # The deployment's own terms are filled in; no placeholder is left.
    assert "privacy@carbon.example.cn" in text and "10 天冷静期" in text and "{{" not in text
    assert "30 天" in text  # ACTION_MAX_AGE_DAYS
    assert client.get(f"/api/v1/privacy/guide/versions/{body['version']}").json == body


def test_login_records_the_accepted_version_and_the_profile_says_when_to_ask(client):
    version = shipped().version
    without = _login(client, "hana-code")
    assert without.status_code == 200
    assert without.json["user"]["privacy_acceptance_required"] is True
    assert without.json["user"]["privacy_version"] == version
    assert without.json["user"]["privacy_accepted_version"] is None

    accepted = _login(client, "hana-code", privacy_version=version)

    assert accepted.status_code == 200
    user = accepted.json["user"]
    assert user["privacy_acceptance_required"] is False and user["privacy_accepted_version"] == version
    assert _accepted(user["id"]) == [version]
    # Accepting the same version again records nothing more.
    assert _login(client, "hana-code", privacy_version=version).status_code == 200
    assert _accepted(user["id"]) == [version]
    me = client.get("/api/v1/me", headers=bearer(accepted.json["token"])).json
    assert me["privacy_acceptance_required"] is False


def test_a_new_version_asks_every_user_again(client, admin):
    old = shipped().version
    token, user = login_user(client, "ivan-code")
    assert client.post(
        "/api/v1/me/privacy-acceptance", json={"version": old}, headers=bearer(token)
    ).json == {"current_version": old, "accepted_version": old, "acceptance_required": False}
    other_token, _other = login_user(client, "june-code")

    published = _publish(client, admin)

    assert published.status_code == 201, published.json
    assert published.json["version"] == "2027-01-15" and published.json["current"] is True
    assert published.json["body"] == "新增：privacy@carbon.example.cn。"
    current = client.get("/api/v1/privacy/guide").json
    assert current["version"] == "2027-01-15" and current["published_at"]
    me = client.get("/api/v1/me", headers=bearer(token)).json
    assert (me["privacy_acceptance_required"], me["privacy_accepted_version"]) == (True, old)
    # The next login carries the new version; the other user is asked too until they accept.
    again = _login(client, "ivan-code", privacy_version="2027-01-15").json["user"]
    assert again["privacy_acceptance_required"] is False and again["privacy_accepted_version"] == "2027-01-15"
    assert _accepted(user["id"]) == [old, "2027-01-15"]
    assert client.get("/api/v1/me", headers=bearer(other_token)).json["privacy_acceptance_required"] is True
    # An old version is still there to read, no longer current.
    earlier = client.get(f"/api/v1/privacy/guide/versions/{old}").json
    assert earlier["current"] is False and "openid" in earlier["body"]
    listed = client.get("/api/v1/privacy/guide/versions")
    assert [(v["version"], v["current"]) for v in listed.json] == [("2027-01-15", True), (old, False)]
    assert '"total": 2' in listed.headers["X-Pagination"]
    second_page = client.get("/api/v1/privacy/guide/versions?page=2&page_size=1").json
    assert [v["version"] for v in second_page] == [old]
    (entry,) = [e for e in read_session().scalars(select(AuditEntry)) if e.action == "privacy_guide.publish"]
    assert entry.after["version"] == "2027-01-15"
    # Admins are never asked: they are not mini-program users.
    assert client.get("/api/v1/me", headers=admin).json["privacy_acceptance_required"] is False


def test_bad_versions_and_bodies_are_clear_4xx(client, admin):
    token, _ = login_user(client, "kate-code")
    headers = bearer(token)
    unknown = _login(client, "kate-code", privacy_version="1999-01-01")
    assert unknown.status_code == 422 and "privacy_version" in unknown.json["errors"]
    assert _login(client, "kate-code", privacy_version="").status_code == 422
    assert _login(client, "kate-code", privacy_version="x" * 33).status_code == 422
    refused = client.post("/api/v1/me/privacy-acceptance", json={"version": "nope"}, headers=headers)
    assert refused.status_code == 422
    assert client.post("/api/v1/me/privacy-acceptance", json={}, headers=headers).status_code == 422
    assert client.get("/api/v1/privacy/guide/versions/nope").status_code == 404
    # Publishing: ids must be new and well formed, texts bounded; users may not publish.
    assert _publish(client, headers).status_code == 403
    assert _publish(client, admin, version=shipped().version).status_code == 409
    assert _publish(client, admin, version="has space").status_code == 422
    assert _publish(client, admin, version="-starts-with-dash").status_code == 422
    assert _publish(client, admin, title="").status_code == 422
    assert _publish(client, admin, body="x" * 100_001).status_code == 422
    assert _publish(client, admin, body="   ").status_code == 422
    assert _publish(client, admin).status_code == 201
    assert _publish(client, admin).status_code == 409
