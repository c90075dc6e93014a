"""Every endpoint that is not meant to be public refuses a request without a token, and every admin
endpoint refuses a user token: walked over the whole URL map, so a new endpoint cannot forget it."""

import re

import pytest

from tests.support.accounts import bearer, login_user

# Endpoints anyone may call: probes, docs, the public catalogue and verification, login, WeChat's callbacks,
# event factors and the public disclosures of events and institutional claims.
PUBLIC = re.compile(
    r"^(static|health\.|api-docs\.|swagger_ui_file$|catalogue\.|rewards\.(list_rewards|get_reward)$|certificates\.(verify(_page)?|claim_page)$|"
    r"accounts\.(login|admin_login)$|metrics$|payments\.(payment_notify|refund_notify)$|factors\.current$|transparency\.|console\.(static|login|logout)$|"
    r"events\.(factors|disclosure|disclosure_page)$|institutional\.public$)"
)


def _auth_kind(view, method: str) -> str | None:
    if hasattr(view, "view_class"):  # a MethodView: the decorators sit on its methods
        view = getattr(view.view_class, method.lower(), None)
    while view is not None:
        kind = getattr(view, "_auth", None)
        if kind:
            return kind
        view = getattr(view, "__wrapped__", None)
    return None


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "1", rule.rule)
            yield rule.endpoint, method, path


def test_every_endpoint_is_public_by_intent_or_guarded(app):
    unguarded = [
        (endpoint, method)
        for endpoint, method, _ in _routes(app)
        if not PUBLIC.match(endpoint) and _auth_kind(app.view_functions[endpoint], method) is None
    ]
    assert unguarded == []


def test_guarded_endpoints_refuse_anonymous_and_admin_ones_refuse_users(app, client):
    token, _ = login_user(client, "plain-user")
    user = bearer(token)
    checked = 0
    for endpoint, method, path in _routes(app):
        kind = _auth_kind(app.view_functions[endpoint], method)
        if kind is None:
            continue
        anonymous = client.open(path, method=method, json={})
        if kind == "console":  # pages: GETs go to the login form, forms without a CSRF token are refused
            assert anonymous.status_code in ((302,) if method == "GET" else (302, 400)), (endpoint, method)
            assert method != "GET" or anonymous.location.startswith("/console/login"), endpoint
            checked += 1
            continue
        assert anonymous.status_code == 401, (endpoint, method, path, anonymous.status_code)
        if kind in ("admin", "partner"):  # a user's token opens neither
            expected = 403 if kind == "admin" else 401
            as_user = client.open(path, method=method, json={}, headers=user)
            assert as_user.status_code == expected, (endpoint, method, path, as_user.status_code)
        checked += 1
    assert checked > 30  # the walk really reached the guarded endpoints


@pytest.mark.parametrize(
    "path", ["/api/v1/me", "/api/v1/orders", "/api/v1/me/certificates", "/api/v1/me/points"]
)
def test_a_forged_token_is_refused(client, path):
    assert client.get(path, headers=bearer("not-a-real-token")).status_code == 401
