"""Per-account back-off after failed admin logins, through the API and the console login form."""

from __future__ import annotations

import logging

import pytest
import redis

from services.accounts import admin_login_backoff
from services.accounts.accounts import create_admin
from services.accounts.admin_login_backoff import BackoffPolicy, failures_key
from services.kernel.redis_store import get_redis
from tests.support.accounts import ADMIN_PASSWORD
from tests.support.console import csrf_token

API = "/api/v1/auth/admin-login"
WRONG = "not the password at all"


class FakeClock:
    """Stands in for `admin_login_backoff.clock`, so a test moves past a lock without sleeping."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(admin_login_backoff, "clock", fake)
    return fake


def api_login(client, username: str, password: str):
    return client.post(API, json={"username": username, "password": password})


def console_post(client, username: str, password: str):
    token = csrf_token(client.get("/console/login"))
    return client.post(
        "/console/login", data={"username": username, "password": password, "csrf_token": token}
    )


def fail(client, username: str, times: int = 5) -> list[int]:
    return [api_login(client, username, WRONG).status_code for _ in range(times)]


def locked_message(seconds: int) -> str:
    return f"Too many failed logins for this account; try again in {seconds} s."


def test_the_right_password_is_refused_during_the_lock(client, clock):
    create_admin("ops", ADMIN_PASSWORD)

    assert fail(client, "ops") == [401] * 5
    refused = api_login(client, "ops", ADMIN_PASSWORD)

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert refused.json["message"] == locked_message(60)
    clock.advance(59.5)
    assert api_login(client, "ops", ADMIN_PASSWORD).headers["Retry-After"] == "1"


def test_the_console_form_shares_the_count_and_shows_the_lock(client, clock):
    create_admin("ops", ADMIN_PASSWORD)

    assert fail(client, "ops", 3) == [401] * 3
    assert [console_post(client, "ops", WRONG).status_code for _ in range(2)] == [401, 401]
    refused = console_post(client, "ops", ADMIN_PASSWORD)

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert locked_message(60) in refused.get_data(as_text=True)
    assert api_login(client, "ops", ADMIN_PASSWORD).status_code == 429


def test_after_the_lock_the_right_password_works_and_clears_the_count(client, clock):
    create_admin("ops", ADMIN_PASSWORD)
    fail(client, "ops")

    clock.advance(61)
    assert console_post(client, "ops", ADMIN_PASSWORD).status_code == 302
    assert not get_redis().exists(failures_key("ops"))
    # The count starts again from nothing: four failures do not lock.
    assert fail(client, "ops", 4) == [401] * 4
    assert api_login(client, "ops", ADMIN_PASSWORD).status_code == 200


def test_each_further_failure_doubles_the_lock_up_to_an_hour(client, clock):
    create_admin("ops", ADMIN_PASSWORD)
    fail(client, "ops")

    clock.advance(61)
    assert api_login(client, "ops", WRONG).status_code == 401
    assert api_login(client, "ops", ADMIN_PASSWORD).headers["Retry-After"] == "120"
    clock.advance(121)
    assert api_login(client, "ops", WRONG).status_code == 401
    assert api_login(client, "ops", ADMIN_PASSWORD).headers["Retry-After"] == "240"

    policy = BackoffPolicy()
    assert [policy.lock_for(n) for n in (4, 5, 6, 7)] == [0, 60, 120, 240]
    assert policy.lock_for(12) == policy.lock_for(500) == 3600


def test_another_account_is_not_affected(client, clock):
    create_admin("ops", ADMIN_PASSWORD)
    create_admin("other", ADMIN_PASSWORD)
    fail(client, "ops")

    assert api_login(client, "ops", ADMIN_PASSWORD).status_code == 429
    assert api_login(client, "other", ADMIN_PASSWORD).status_code == 200
    assert console_post(client, "other", ADMIN_PASSWORD).status_code == 302


def test_an_unknown_username_locks_the_same_way(client, clock):
    create_admin("ops", ADMIN_PASSWORD)

    assert fail(client, "nobody") == fail(client, "ops") == [401] * 5
    unknown = api_login(client, "nobody", ADMIN_PASSWORD)
    known = api_login(client, "ops", ADMIN_PASSWORD)

    assert unknown.status_code == known.status_code == 429
    assert unknown.json == known.json
    assert unknown.headers["Retry-After"] == known.headers["Retry-After"] == "60"


def test_no_redis_key_holds_a_username(client, clock):
    create_admin("ops.admin@example", ADMIN_PASSWORD)
    fail(client, "ops.admin@example")
    fail(client, "who.is.this", 2)

    keys = [key.decode() for key in get_redis().keys("*")]
    assert failures_key("ops.admin@example") in keys and failures_key("who.is.this") in keys
    assert not [key for key in keys if "ops.admin" in key or "who.is" in key or "example" in key]


@pytest.mark.parametrize("app_overrides", [{"ADMIN_LOGIN_FAILURES_BEFORE_LOCK": 2, "ADMIN_LOGIN_LOCK_S": 7}])
def test_the_settings_set_the_threshold_and_the_lock(client, clock):
    create_admin("ops", ADMIN_PASSWORD)

    assert fail(client, "ops", 2) == [401, 401]
    assert api_login(client, "ops", ADMIN_PASSWORD).headers["Retry-After"] == "7"


def test_unreachable_redis_fails_open_and_logs_no_username(client, clock, monkeypatch, caplog):
    create_admin("ops", ADMIN_PASSWORD)
    dead = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.5, socket_timeout=0.5)
    monkeypatch.setattr(admin_login_backoff, "get_redis", lambda: dead)

    with caplog.at_level(logging.WARNING, logger=admin_login_backoff.__name__):
        assert fail(client, "ops", 6) == [401] * 6
        assert api_login(client, "ops", ADMIN_PASSWORD).status_code == 200

    warnings = [
        record.getMessage() for record in caplog.records if record.name == admin_login_backoff.__name__
    ]
    assert warnings and all("ops" not in message for message in warnings)


def test_the_lock_holds_on_a_real_redis(pg_client, clock):
    create_admin("ops", ADMIN_PASSWORD)

    assert fail(pg_client, "ops") == [401] * 5
    assert api_login(pg_client, "ops", ADMIN_PASSWORD).status_code == 429
    assert 0 < get_redis().ttl(failures_key("ops")) <= admin_login_backoff.FAILURE_WINDOW_S + 60
    clock.advance(61)
    assert api_login(pg_client, "ops", ADMIN_PASSWORD).status_code == 200
    assert not get_redis().exists(failures_key("ops"))
