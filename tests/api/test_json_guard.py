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


def _writable_paths(app) -> list[str]:
    """Every POST route of the service, with a made-up value for each path variable."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods:
            values = {name: "1" for name in rule.arguments}
            try:
                paths.append(rule.build(values, append_unknown=False)[1])
            except Exception:  # a converter refused "1": skip that route
                continue
    return sorted(set(paths))


def test_a_nul_in_any_json_string_is_a_422_naming_it_on_every_post_route(app, client, user_headers):
    body = b'{"name": "a\\u0000b", "holder_name": "x\\u0000", "nested": [{"\\u0000key": 1}]}'
    answers = {
        path: client.post(path, data=body, headers={**JSON, **user_headers}) for path in _writable_paths(app)
    }

    assert len(answers) > 50
    named = {"json": {"name": ["Text cannot contain the NUL character (U+0000)."]}}

    def named_it(path, response) -> bool:
        if response.status_code != 422:
            return False
        if path.startswith("/console/"):  # the console answers with its own page
            return "<code>name</code>: Text cannot contain the NUL character" in response.get_data(
                as_text=True
            )
        return response.json["errors"] == named

    other = {path: response.status_code for path, response in answers.items() if not named_it(path, response)}
    assert other == {}


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        ("/api/v1/catalogue/projects?q=a%00b", {}),
        ("/api/v1/auth/login", {"data": {"code": "a\x00b"}}),
    ],
)
def test_a_nul_in_a_query_parameter_or_form_field_is_a_422_naming_it(client, path, kwargs):
    response = client.get(path) if not kwargs else client.post(path, **kwargs)

    assert response.status_code == 422
    assert "NUL" in str(response.json["errors"]) and (
        "q" in str(response.json) or "code" in str(response.json)
    )


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(client):
    response = client.post("/api/v1/auth/login", data=b'{"code": "\\\\u0000"}', headers=JSON)

    assert "NUL" not in str(response.json)
