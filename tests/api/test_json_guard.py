"""Bodies no parser should be asked to read are refused with 400 on every endpoint, before any view."""

import pytest

from api.json_guard import MAX_JSON_DEPTH, json_depth
from tests.support.accounts import login_user

DEEP = b"[" * 100_000 + b"]" * 100_000
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "path",
    ["/api/v1/auth/login", "/api/v1/auth/admin-login", "/api/v1/payments/sandbox/notify", "/api/v1/orders"],
)
def test_json_nested_100000_deep_is_a_400_not_a_500(client, path):
    response = client.post(path, data=DEEP, headers=JSON)

    assert response.status_code == 400
    assert "nested" in response.json["message"]


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/admin-login"])
def test_a_lone_surrogate_is_a_400_not_a_500(client, path):
    body = b'{"code": "\\ud800", "username": "\\ud800x", "password": "\\udfff"}'

    response = client.post(path, data=body, headers=JSON)

    assert response.status_code == 400


def test_ordinary_nesting_and_escaped_pairs_still_pass(client):
    # An escaped surrogate pair is a valid character (😀); brackets inside strings do not count.
    code = client.post(
        "/api/v1/auth/login", data=b'{"code": "ok-\\ud83d\\ude00' + b"[" * 200 + b'"}', headers=JSON
    )
    token, _ = login_user(client, "nesting-user")

    assert code.status_code == 422  # the schema's length rule answers, not the guard's 400
    assert "nested" not in code.json["message"] and "surrogate" not in code.json["message"]
    assert json_depth(b'{"a": [[{"b": "]]]]"}]]}') == 4
    assert json_depth(b"[" * (MAX_JSON_DEPTH + 1)) == MAX_JSON_DEPTH + 1
    assert token
