"""The embedded demo's sandbox login, and the rate limit on both login endpoints."""

import pytest
from sqlalchemy import select

from models import User
from models.database import unit_of_work
from services.accounts.accounts import create_admin
from services.accounts.wechat_client import SANDBOX_OPENID_PREFIX
from tests.support.accounts import ADMIN_PASSWORD, bearer

LIMITED = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}


def test_sandbox_login_needs_no_wechat_and_the_same_code_is_the_same_user(app, client):
    assert app.config["WECHAT_SANDBOX_LOGIN"] is True
    app.config["WECHAT_API_BASE"] = "http://127.0.0.1:9/"  # nothing listens: any call would fail

    first = client.post("/api/v1/auth/login", json={"code": "demo-visitor"})
    again = client.post("/api/v1/auth/login", json={"code": "demo-visitor"})
    other = client.post("/api/v1/auth/login", json={"code": "someone-else"})

    assert first.status_code == again.status_code == other.status_code == 200
    assert first.json["user"]["id"] == again.json["user"]["id"]
    assert other.json["user"]["id"] != first.json["user"]["id"]
    assert client.get("/api/v1/me", headers=bearer(first.json["token"])).status_code == 200

    with unit_of_work() as session:
        openids = set(session.scalars(select(User.openid)))
    assert all(openid.startswith(SANDBOX_OPENID_PREFIX) for openid in openids)
    assert len(openids) == 2


@pytest.mark.parametrize("app_overrides", [LIMITED])
def test_code_login_is_rate_limited(client):
    statuses = [client.post("/api/v1/auth/login", json={"code": f"c{n}"}).status_code for n in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = client.post("/api/v1/auth/login", json={"code": "c9"})
    assert response.json["code"] == 429
    assert response.json["error"] == "too_many_requests"
    assert response.headers["Retry-After"]


@pytest.mark.parametrize("app_overrides", [LIMITED])
def test_admin_login_is_rate_limited_even_with_the_right_password(client):
    create_admin("root", ADMIN_PASSWORD)
    wrong = {"username": "root", "password": "guess"}
    right = {"username": "root", "password": ADMIN_PASSWORD}

    statuses = [client.post("/api/v1/auth/admin-login", json=wrong).status_code for _ in range(3)]
    blocked = client.post("/api/v1/auth/admin-login", json=right)

    assert statuses == [401, 401, 401]
    assert blocked.status_code == 429


def test_without_rate_limits_many_logins_pass(client):
    statuses = {client.post("/api/v1/auth/login", json={"code": f"c{n}"}).status_code for n in range(25)}

    assert statuses == {200}
