"""Every endpoint that is not meant to be public refuses a request without a token, and every admin
endpoint refuses a user token: walked over the whole URL map, so a new endpoint cannot forget it."""

import re

import pytest

from tests.support.accounts import bearer, login_user

# Endpoints anyone may call: probes, docs, the public catalogue and verification, login, WeChat's callbacks,
# event factors and the public disclosures of events and institutional claims, memorial forests and their
# plots and plantings, the public records of paid adoptions and land-use compensations, the privacy guide,
# the share posters of certificates, paid claims and published events, and the public carbon ledger (its
# head, entries and proofs name no one: holders are pseudonyms).
PUBLIC = re.compile(
    r"^(static|health\.|api-docs\.|swagger_ui_file$|catalogue\.|rewards\.(list_rewards|get_reward)$|certificates\.(verify(_page)?|claim_page|poster)$|"
    r"accounts\.(login|admin_login)$|metrics$|payments\.(payment_notify|refund_notify)$|factors\.current$|transparency\.|console\.(static|login|logout)$|"
    r"events\.(factors|disclosure|disclosure_page|poster)$|institutional\.(public|poster)$|"
    r"forestry\.(list_forests|get_forest|list_plots|get_plot|list_plantings|public_adoption|adoption_page)$|"
    r"land_compensation\.(public|page)$|privacy\.(guide|versions|version)$|ledger\.)"
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


# Endpoints whose intended role is stated here, so a change of guard is a visible decision.
INTENDED_ROLES = {
    ("reductions.my_reductions", "GET"): "user",
    ("reductions.eligible", "GET"): "admin",
    ("reductions.build", "POST"): "admin",
    ("reductions.list_batches", "GET"): "admin",
    ("reductions.get_batch", "GET"): "admin",
    ("reductions.contributors", "GET"): "admin",
    ("reductions.submit", "POST"): "admin",
    ("reductions.issue", "POST"): "admin",
    ("reductions.reject", "POST"): "admin",
    ("console.reduction_list", "GET"): "console",
    ("console.reduction_build", "POST"): "console",
    ("console.reduction_detail", "GET"): "console",
    ("console.reduction_step", "POST"): "console",
}


def test_endpoints_have_their_intended_roles(app):
    found = {
        (endpoint, method): _auth_kind(app.view_functions[endpoint], method)
        for endpoint, method, _ in _routes(app)
        if (endpoint, method) in INTENDED_ROLES
    }
    assert found == INTENDED_ROLES


# Forestry's routes and the role each is meant for: anyone (public), a logged-in user, an admin.
FORESTRY_ROLES = {
    ("forestry.list_forests", "GET"): "public",
    ("forestry.get_forest", "GET"): "public",
    ("forestry.list_plots", "GET"): "public",
    ("forestry.get_plot", "GET"): "public",
    ("forestry.list_plantings", "GET"): "public",
    ("forestry.public_adoption", "GET"): "public",
    ("forestry.adoption_page", "GET"): "public",
    ("forestry.create_forest", "POST"): "admin",
    ("forestry.create_plot", "POST"): "admin",
    ("forestry.enrol_plot", "PUT"): "admin",
    ("forestry.record_planting", "POST"): "admin",
    ("forestry.record_survival", "POST"): "admin",
    ("forestry.list_survival", "GET"): "admin",
    ("forestry.list_all_adoptions", "GET"): "admin",
    ("forestry.adopt", "POST"): "user",
    ("forestry.list_mine", "GET"): "user",
    ("forestry.list_organisation", "GET"): "user",
    ("forestry.get_adoption", "GET"): "user",
    ("forestry.certificate", "GET"): "user",
    ("land_compensation.quote", "GET"): "user",
    ("land_compensation.create", "POST"): "user",
    ("land_compensation.list_mine", "GET"): "user",
    ("land_compensation.get_one", "GET"): "user",
    ("land_compensation.certificate", "GET"): "user",
    ("land_compensation.list_all", "GET"): "admin",
    ("land_compensation.public", "GET"): "public",
    ("land_compensation.page", "GET"): "public",
    ("console.forest_list", "GET"): "console",
    ("console.forest_create", "POST"): "console",
    ("console.forest_detail", "GET"): "console",
    ("console.plot_create", "POST"): "console",
    ("console.plot_detail", "GET"): "console",
    ("console.plot_step", "POST"): "console",
    ("console.adoption_list", "GET"): "console",
    ("console.compensation_list", "GET"): "console",
    ("console.compensation_detail", "GET"): "console",
}


def test_forestry_routes_have_the_roles_they_are_meant_for(app):
    found = {
        (endpoint, method): _auth_kind(app.view_functions[endpoint], method) or "public"
        for endpoint, method, _ in _routes(app)
        if endpoint.split(".")[0] in ("forestry", "land_compensation")
        or endpoint in {name for name, _ in FORESTRY_ROLES}
    }
    assert found == FORESTRY_ROLES


# Account deletion, the personal-data export and the privacy guide: who each route is meant for.
PRIVACY_ROLES = {
    ("privacy.guide", "GET"): "public",
    ("privacy.versions", "GET"): "public",
    ("privacy.version", "GET"): "public",
    ("privacy.accept", "POST"): "user",
    ("privacy.publish", "POST"): "admin",
    ("personal_data.request_deletion", "POST"): "user",
    ("personal_data.deletion_state", "GET"): "user",
    ("personal_data.cancel_deletion", "DELETE"): "user",
    ("personal_data.export_mine", "GET"): "user",
    ("personal_data.list_deletions", "GET"): "admin",
    ("personal_data.run_deletions", "POST"): "admin",
}


def test_privacy_routes_have_the_roles_they_are_meant_for(app):
    found = {
        (endpoint, method): _auth_kind(app.view_functions[endpoint], method) or "public"
        for endpoint, method, _ in _routes(app)
        if endpoint.split(".")[0] in ("privacy", "personal_data")
    }
    assert found == PRIVACY_ROLES


# The share posters: public by intent (each is found by its record's opaque code, the holder masked).
POSTER_ROLES = {
    ("certificates.poster", "GET"): "public",
    ("institutional.poster", "GET"): "public",
    ("events.poster", "GET"): "public",
}


def test_poster_routes_are_public_and_answer_without_a_token(app, client):
    found = {
        (endpoint, method): _auth_kind(app.view_functions[endpoint], method) or "public"
        for endpoint, method, _ in _routes(app)
        if endpoint.endswith(".poster")
    }
    assert found == POSTER_ROLES
    for endpoint, method, path in _routes(app):
        if (endpoint, method) in POSTER_ROLES:
            assert client.open(path, method=method).status_code == 404, path  # unknown code, no login asked


# The public carbon ledger: every route public, so that anyone can verify it.
LEDGER_ROLES = {
    ("ledger.head", "GET"): "public",
    ("ledger.entries", "GET"): "public",
    ("ledger.inclusion", "GET"): "public",
    ("ledger.consistency", "GET"): "public",
}


def test_ledger_routes_are_public(app, client):
    found = {
        (endpoint, method): _auth_kind(app.view_functions[endpoint], method) or "public"
        for endpoint, method, _ in _routes(app)
        if endpoint.split(".")[0] == "ledger"
    }
    assert found == LEDGER_ROLES
    assert client.get("/api/v1/ledger/head").status_code == 404  # no head yet; no login asked
