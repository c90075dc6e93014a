"""Every response is sent with headers that keep it from being framed, sniffed or scripted from elsewhere."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from flask import Flask

from api import security_headers
from tests.support.accounts import bearer, login_user
from tests.support.console import console_login
from tests.support.pool import stock_pool
from tests.support.sales import buy

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"
INLINE_BLOCK = re.compile(r"<(style|script)(?:\s[^>]*)?>(.*?)</\1>", re.DOTALL)


def _directives(response) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy")
    assert policy, f"{response.request.path} has no Content-Security-Policy"
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def _assert_common(response) -> dict[str, list[str]]:
    path = response.request.path
    assert response.headers.get("X-Content-Type-Options") == "nosniff", path
    assert response.headers.get("X-Frame-Options") == "DENY", path
    assert response.headers.get("Referrer-Policy") == "same-origin", path
    directives = _directives(response)
    assert directives.get("frame-ancestors") == ["'none'"], path
    assert directives.get("default-src") == ["'none'"], path
    return directives


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _assert_page(response, docs: bool = False) -> None:
    """A page's own inline blocks are allowed by hash, nothing else inline; docs may set styles from script."""
    directives = _assert_common(response)
    html = response.get_data(as_text=True)
    for tag, body in INLINE_BLOCK.findall(html):
        if tag == "style" and docs:
            continue
        if tag == "script" and not body.strip():
            continue
        assert _sha256(body) in directives.get(f"{tag}-src", []), f"inline {tag} of {response.request.path}"
    if not docs:
        assert "'unsafe-inline'" not in directives.get("style-src", [])
        assert "script-src" not in directives  # no script at all: default-src 'none'
    assert "'unsafe-inline'" not in directives.get("script-src", [])
    assert "'unsafe-eval'" not in directives.get("script-src", [])


@pytest.fixture
def certificate_code(client):
    stock_pool(tonnes=1)
    buyer = bearer(login_user(client, "page-buyer")[0])
    buy(client, buyer, 2)
    (certificate,) = client.get("/api/v1/me/certificates", headers=buyer).json
    return certificate["verification_code"]


def test_public_pages_carry_a_strict_policy(client, certificate_code):
    found = client.get(f"/verify/{certificate_code}")
    assert found.status_code == 200 and "证书有效" in found.get_data(as_text=True)
    _assert_page(found)
    for path in ("/verify/NOSUCHCODE12", "/events/999999/disclosure"):
        missing = client.get(path)
        assert missing.status_code == 404 and missing.mimetype == "text/html"
        _assert_page(missing)


def test_console_pages_carry_a_strict_policy(client):
    _assert_page(client.get("/console/login"))
    console_login(client)
    for path in ("/console/", "/console/sales", "/console/payouts", "/console/retirements", "/console/audit"):
        page = client.get(path)
        assert page.status_code == 200, path
        _assert_page(page)
    assert client.get("/console/static/console.css").headers["X-Content-Type-Options"] == "nosniff"


def test_docs_pages_may_run_only_their_own_start_up_script(client):
    page = client.get("/api/docs/swagger")
    assert page.status_code == 200
    _assert_page(page, docs=True)
    script_src = _directives(page)["script-src"]
    assert "'unsafe-inline'" not in script_src
    # The UI's files are the app's own: no other host may serve script.
    assert all(source == "'self'" or source.startswith("'sha256-") for source in script_src), script_src


def test_templates_have_no_inline_attribute_the_policy_would_block():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"\sstyle\s*=", text), f"{template.name}: a style attribute"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{template.name}: an inline event handler"
        assert "javascript:" not in text, template.name


def test_every_response_of_the_url_map_carries_the_headers(app, client):
    """JSON, errors, files and redirects alike: a new endpoint cannot forget them."""
    token, _ = login_user(client, "header-walker")
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "1", rule.rule)
        for headers in ({}, bearer(token)):
            response = client.get(path, headers=headers)
            _assert_common(response)
            checked += 1
    for response in (
        client.post("/api/v1/auth/login", json={"code": ""}),  # 422
        client.get("/api/v1/no-such-thing"),  # 404
    ):
        assert response.is_json
        _assert_common(response)
    assert checked > 100


@pytest.mark.parametrize(("profile", "hsts"), [("production", True), ("testing", False), ("default", False)])
def test_hsts_is_sent_in_production_only(profile, hsts):
    app = Flask(__name__)
    app.config["CARBON_PROFILE"] = profile
    security_headers.init_app(app)
    app.add_url_rule("/", "index", lambda: "ok")
    response = app.test_client().get("/")
    assert ("Strict-Transport-Security" in response.headers) is hsts
    if hsts:
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
