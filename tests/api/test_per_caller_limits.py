"""Per-caller rate limits key on the resolved user, never on the credential that names them."""

import logging

import pytest

from models import Role
from services.accounts.accounts import create_admin
from services.kernel.redis_store import get_redis
from tests.conftest import bearer_token
from tests.support.accounts import ADMIN_PASSWORD, login_user
from tests.support.console import csrf_token
from tests.support.pool import stock_pool

ORDERS_LIMITED = {"RATELIMIT_ENABLED": True, "ORDER_RATE_LIMIT": "2 per minute"}
LOGINS_LIMITED = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}
ONE_UNIT = {"product": "one_yuan", "units": 1}


def _spellings(token: str) -> list[dict[str, str]]:
    # The same credential written three ways: each must land in the same bucket.
    return [
        {"Authorization": f"Bearer {token}"},
        {"Authorization": f"Bearer  {token}"},
        {"Authorization": f"Bearer {token} "},
    ]


@pytest.mark.parametrize("app_overrides", [ORDERS_LIMITED])
def test_respelling_a_token_opens_no_fresh_order_bucket(client):
    stock_pool()
    token, _user = login_user(client, "limited-buyer")

    statuses = [
        client.post("/api/v1/orders", json=ONE_UNIT, headers=h).status_code for h in _spellings(token)
    ]

    assert statuses == [201, 201, 429]


@pytest.mark.parametrize("app_overrides", [ORDERS_LIMITED])
def test_one_users_limit_is_not_anothers(client):
    stock_pool()
    first, _ = login_user(client, "first-buyer")
    second, _ = login_user(client, "second-buyer")
    for _ in range(2):
        client.post("/api/v1/orders", json=ONE_UNIT, headers={"Authorization": f"Bearer {first}"})

    blocked = client.post("/api/v1/orders", json=ONE_UNIT, headers={"Authorization": f"Bearer {first}"})
    other = client.post("/api/v1/orders", json=ONE_UNIT, headers={"Authorization": f"Bearer {second}"})

    assert (blocked.status_code, other.status_code) == (429, 201)


@pytest.mark.postgres
@pytest.mark.parametrize("app_overrides", [ORDERS_LIMITED])
def test_no_token_reaches_a_redis_key_or_the_limiters_log(pg_client, caplog):
    stock_pool()
    headers = bearer_token(Role.USER, "scanned-buyer")
    token = headers["Authorization"].removeprefix("Bearer ")

    with caplog.at_level(logging.DEBUG):
        statuses = [
            pg_client.post("/api/v1/orders", json=ONE_UNIT, headers=headers).status_code for _ in range(3)
        ]

    assert statuses[-1] == 429
    keys = [key.decode() if isinstance(key, bytes) else key for key in get_redis().scan_iter("*")]
    assert any("LIMITER" in key for key in keys), keys
    assert not [key for key in keys if token in key or "Bearer" in key]
    assert token not in caplog.text


@pytest.mark.parametrize("app_overrides", [LOGINS_LIMITED])
def test_the_api_and_the_console_share_one_admin_password_bucket(client):
    create_admin("root", ADMIN_PASSWORD)
    wrong = {"username": "root", "password": "guess"}

    api_tries = [client.post("/api/v1/auth/admin-login", json=wrong).status_code for _ in range(2)]
    form = client.get("/console/login")
    console_try = client.post("/console/login", data={**wrong, "csrf_token": csrf_token(form)}).status_code
    after_console = client.post("/api/v1/auth/admin-login", json=wrong).status_code

    assert api_tries == [401, 401]
    assert console_try == 401
    assert after_console == 429


def test_an_over_long_idempotency_key_is_refused_not_cut(client):
    stock_pool()
    token, _ = login_user(client, "keyed-buyer")
    headers = {"Authorization": f"Bearer {token}"}
    shared = "k" * 128

    first = client.post("/api/v1/orders", json=ONE_UNIT, headers={**headers, "Idempotency-Key": shared + "a"})
    second = client.post(
        "/api/v1/orders", json=ONE_UNIT, headers={**headers, "Idempotency-Key": shared + "b"}
    )
    exact = client.post("/api/v1/orders", json=ONE_UNIT, headers={**headers, "Idempotency-Key": shared})

    assert (first.status_code, second.status_code) == (422, 422)
    assert "Idempotency-Key" in first.json["message"]
    assert exact.status_code == 201
