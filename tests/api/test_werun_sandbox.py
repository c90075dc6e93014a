"""WeRun on the embedded default: sandbox login → a sandbox WeRun payload → `POST /actions/werun` credits it.

The embedded default has no `WECHAT_APPID`; there the decryption expects the sandbox's AppID, and
the sandbox payload (endpoint and CLI) is encrypted with the session key the sandbox login gave. Both
are refused in production and wherever logins are not the sandbox's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from wechatpy.crypto import WeChatWxaCrypto

from api import create_app
from services.accounts.accounts import session_key_name
from services.accounts.wechat_client import sandbox_session
from services.actions.action_policy import SANDBOX_APPID, werun_appid
from services.kernel.beijing_time import today
from services.kernel.redis_store import get_redis
from tests.conftest import clear_tables
from tests.points_support import check_ledger
from tests.support.accounts import bearer, login_user
from tests.support.werun import midnight

PAYLOAD = "/api/v1/sandbox/werun-payload"
WERUN = "/api/v1/actions/werun"


@pytest.fixture
def app(sqlite_url: str) -> Iterator[Flask]:
    """The embedded default's settings (as `bin/serve` runs them), on the test database."""
    flask_app = create_app("default", overrides={"DATABASE_URL": sqlite_url, "REDIS_URL": ""})
    clear_tables()
    with flask_app.app_context():
        yield flask_app


def _walker(client, code: str = "walker") -> tuple[dict[str, str], int]:
    token, user = login_user(client, code)
    return bearer(token), user["id"]


def _points(client, headers) -> int:
    return client.get("/api/v1/me/points", headers=headers).json["balance"]


def test_the_embedded_default_has_no_appid_and_decrypts_with_the_sandbox_one(app):
    assert app.config["CARBON_PROFILE"] == "default" and app.config["WECHAT_APPID"] == ""
    assert werun_appid(app.config) == SANDBOX_APPID


def test_login_payload_and_upload_credit_points_on_the_embedded_default(client):
    headers, user_id = _walker(client)
    assert _points(client, headers) == 0

    made = client.post(PAYLOAD, json={"days": [{"steps": 12_000}]}, headers=headers)
    assert made.status_code == 200, made.json
    assert set(made.json) == {"encryptedData", "iv"}

    uploaded = client.post(WERUN, json=made.json, headers=headers)
    assert uploaded.status_code == 200, uploaded.json
    body = uploaded.json
    assert [(d["date"], d["steps"], d["outcome"]) for d in body["days"]] == [
        (today().isoformat(), 12_000, "credited")
    ]
    assert body["credited_g"] == 210 and body["points"] == 2
    assert _points(client, headers) == 2
    check_ledger(user_id)
    # The same payload again is a replay, as from WeChat.
    assert client.post(WERUN, json=made.json, headers=headers).json["error"] == "werun_replayed"


def test_the_payload_is_wechats_format_under_the_sandbox_session_key(client):
    headers, _ = _walker(client, "format-check")
    yesterday = today() - timedelta(days=1)
    days = [{"date": yesterday.isoformat(), "steps": 4_321}, {"steps": 9_876}]
    made = client.post(PAYLOAD, json={"days": days}, headers=headers).json

    # Decrypted the way the upload decrypts it, with the key the sandbox login derives from the code.
    key = sandbox_session("format-check").session_key
    plain = WeChatWxaCrypto(key, made["iv"], SANDBOX_APPID).decrypt_message(made["encryptedData"])
    assert plain["stepInfoList"] == [
        {"timestamp": midnight(yesterday), "step": 4_321},
        {"timestamp": midnight(today()), "step": 9_876},
    ]
    assert plain["watermark"]["appid"] == SANDBOX_APPID
    # Each call encrypts anew, as WeChat does.
    again = client.post(PAYLOAD, json={"days": days}, headers=headers).json
    assert again["iv"] != made["iv"] and again["encryptedData"] != made["encryptedData"]


def test_another_users_payload_does_not_decrypt_for_me(client):
    headers_a, _ = _walker(client, "walker-a")
    headers_b, _ = _walker(client, "walker-b")
    made = client.post(PAYLOAD, json={"days": [{"steps": 8_000}]}, headers=headers_a).json

    refused = client.post(WERUN, json=made, headers=headers_b)
    assert refused.status_code == 422 and refused.json["error"] == "werun_undecryptable"
    assert _points(client, headers_b) == 0


def test_the_cli_makes_a_payload_of_consecutive_days(app, client):
    headers, user_id = _walker(client)
    result = app.test_cli_runner().invoke(
        args=["sandbox", "werun-payload", "--user", str(user_id), "--steps", "8000", "--steps", "10000"]
    )
    assert result.exit_code == 0, result.output

    uploaded = client.post(WERUN, json=json.loads(result.output), headers=headers)
    assert uploaded.status_code == 200, uploaded.json
    assert [(d["date"], d["steps"]) for d in uploaded.json["days"]] == [
        ((today() - timedelta(days=1)).isoformat(), 8_000),
        (today().isoformat(), 10_000),
    ]
    assert _points(client, headers) == 2


def test_the_cli_names_what_is_wrong(app, client):
    _, user_id = _walker(client)
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["sandbox", "werun-payload", "--user", str(user_id + 99), "--steps", "100"])
    assert unknown.exit_code == 1 and "log in again" in unknown.output
    too_many = runner.invoke(args=["sandbox", "werun-payload", "--user", str(user_id), "--steps", "200001"])
    assert too_many.exit_code == 2 and "200000" in too_many.output


@pytest.mark.parametrize(
    ("days", "field_error"),
    [
        ([], "Length"),
        ([{"steps": -1}], "0"),
        ([{"steps": 200_001}], "200000"),
        ([{"steps": "5000"}], "integer"),
        ([{"date": "2026-02-30", "steps": 1}], "date"),
        ([{"steps": 1}, {"steps": 2}], "twice"),
        ([{"steps": 1}, {"steps": 2}, {"date": "1999-01-01", "steps": 1}], "2000-01-01"),
        # Made when the test runs, not when it is collected (the suite's clock may be frozen then).
        (
            lambda: [{"date": (today() - timedelta(days=i)).isoformat(), "steps": 1} for i in range(63)],
            "Length",
        ),
    ],
)
def test_bad_days_are_refused_with_a_clear_reason(client, days, field_error):
    days = days() if callable(days) else days
    headers, _ = _walker(client)
    refused = client.post(PAYLOAD, json={"days": days}, headers=headers)
    assert refused.status_code == 422, refused.json
    assert "days" in json.dumps(refused.json["errors"])
    if field_error != "Length":
        assert field_error.lower() in json.dumps(refused.json["errors"]).lower()


def test_without_a_session_key_it_asks_for_a_login(client):
    headers, user_id = _walker(client)
    get_redis().delete(session_key_name(user_id))
    refused = client.post(PAYLOAD, json={"days": [{"steps": 1}]}, headers=headers)
    assert refused.status_code == 422 and refused.json["error"] == "wechat_session_expired"


def test_it_needs_a_token(client):
    assert client.post(PAYLOAD, json={"days": [{"steps": 1}]}).status_code == 401


@pytest.mark.parametrize(
    ("setting", "value"), [("CARBON_PROFILE", "production"), ("WECHAT_SANDBOX_LOGIN", False)]
)
def test_the_sandbox_payload_is_refused_in_production_and_without_sandbox_login(
    app, client, monkeypatch, setting, value
):
    headers, user_id = _walker(client)
    monkeypatch.setitem(app.config, setting, value)

    assert client.post(PAYLOAD, json={"days": [{"steps": 8_000}]}, headers=headers).status_code == 404
    assert client.post(PAYLOAD, json={"days": []}).status_code == 404  # before the token or the body
    result = app.test_cli_runner().invoke(
        args=["sandbox", "werun-payload", "--user", str(user_id), "--steps", "8000"]
    )
    assert result.exit_code == 1 and "Refused" in result.output and "encryptedData" not in result.output


@pytest.mark.parametrize(
    ("settings", "appid"),
    [
        ({"WECHAT_APPID": "", "WECHAT_SANDBOX_LOGIN": True, "CARBON_PROFILE": "default"}, SANDBOX_APPID),
        ({"WECHAT_APPID": "", "WECHAT_SANDBOX_LOGIN": True, "CARBON_PROFILE": "testing"}, SANDBOX_APPID),
        ({"WECHAT_APPID": "wxreal", "WECHAT_SANDBOX_LOGIN": True, "CARBON_PROFILE": "default"}, "wxreal"),
        ({"WECHAT_APPID": "", "WECHAT_SANDBOX_LOGIN": True, "CARBON_PROFILE": "production"}, ""),
        ({"WECHAT_APPID": "", "WECHAT_SANDBOX_LOGIN": False, "CARBON_PROFILE": "default"}, ""),
    ],
)
def test_the_sandbox_appid_stands_in_only_outside_production_with_sandbox_login(settings, appid):
    assert werun_appid(settings) == appid
