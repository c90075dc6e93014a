"""The admin console through Flask's test client: login, every page, CSRF, and the actions that change state."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from api.console.session_auth import SESSION_KEY
from models import AuthToken, ReconciliationDiscrepancy, Resolution
from models.database import unit_of_work
from services.accounts.tokens import hash_token
from services.kernel import audit, beijing_time
from tests.support.accounts import ADMIN_PASSWORD, bearer, login_user
from tests.support.console import (
    console_login,
    csrf_token,
    draft_retirement,
    post_form,
    reconciled_run,
)
from tests.support.pool import stock_pool
from tests.support.sales import buy

PAGES = [
    "/console/",
    "/console/sales",
    "/console/reconciliation",
    "/console/retirements",
    "/console/payouts",
    "/console/audit",
]


@pytest.fixture
def admin_id(client):
    return console_login(client)


@pytest.fixture
def buyer(client):
    return bearer(login_user(client, "console-buyer")[0])


def discrepancy(discrepancy_id):
    with unit_of_work() as session:
        return session.get(ReconciliationDiscrepancy, discrepancy_id)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_a_stranger_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/console/login?next=/console")


def test_a_mini_program_user_is_not_let_in(client):
    token, _ = login_user(client, "curious-user")
    with client.session_transaction("/console/") as session:
        session[SESSION_KEY] = hash_token(token)
    assert client.get("/console/").status_code == 302


def test_login_with_a_wrong_password_stays_on_the_form(client):
    console_login(client, "first-admin")
    client.post("/console/logout", data={"csrf_token": csrf_token(client.get("/console/"))})
    form = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"username": "first-admin", "password": "wrong", "csrf_token": csrf_token(form)},
    )
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_login_sets_an_httponly_lax_cookie_and_goes_where_it_was_asked(client):
    from services.accounts.accounts import create_admin

    create_admin("next-admin", ADMIN_PASSWORD)
    form = client.get("/console/login?next=/console/audit")
    response = client.post(
        "/console/login",
        data={
            "username": "next-admin",
            "password": ADMIN_PASSWORD,
            "csrf_token": csrf_token(form),
            "next": "/console/audit",
        },
    )
    assert response.status_code == 302 and response.location == "/console/audit"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_never_redirects_to_another_site(client):
    from services.accounts.accounts import create_admin

    create_admin("careful-admin", ADMIN_PASSWORD)
    form = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={
            "username": "careful-admin",
            "password": ADMIN_PASSWORD,
            "csrf_token": csrf_token(form),
            "next": "https://evil.example/console",
        },
    )
    assert response.location == "/console/"


def test_login_without_the_csrf_token_is_refused(client):
    from services.accounts.accounts import create_admin

    create_admin("csrf-admin", ADMIN_PASSWORD)
    client.get("/console/login")
    response = client.post("/console/login", data={"username": "csrf-admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 400
    assert client.get("/console/").status_code == 302


@pytest.mark.parametrize("path", PAGES)
def test_every_page_opens_for_an_admin(client, admin_id, path):
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert 'name="csrf_token"' in response.get_data(as_text=True)  # the logout form


def test_the_session_cookie_carries_no_bearer_token(client, admin_id):
    with client.session_transaction("/console/") as session:
        values = [str(v) for v in session.values()]
    with unit_of_work() as db:
        stored = set(db.scalars(select(AuthToken.token_hash).where(AuthToken.user_id == admin_id)))

    assert any(v in stored for v in values)  # a reference to the token, kept server-side
    for value in values:
        assert client.get("/api/v1/me", headers=bearer(value)).status_code == 401


def test_logout_revokes_the_token(client, admin_id):
    with client.session_transaction("/console/") as session:
        token_hash = session[SESSION_KEY]
    response = post_form(client, "/console/", "/console/logout", {})
    assert "Signed out" in response.get_data(as_text=True)
    assert client.get("/console/").status_code == 302
    with client.session_transaction("/console/") as session:
        session[SESSION_KEY] = token_hash  # a copied cookie is no use after logout
    assert client.get("/console/").status_code == 302


def test_the_dashboard_draws_the_days_sales_as_bars(client, admin_id, buyer):
    stock_pool(tonnes=1)
    buy(client, buyer, 3)
    html = client.get("/console/").get_data(as_text=True)
    assert html.count("<rect ") == 30  # one bar per day
    assert 'data-value="30"' in html  # 3 units of 10 kg sold today
    assert '<b id="net-yuan">3.00</b>' in html


def test_a_bad_filter_names_its_field_instead_of_failing(client, admin_id):
    response = client.get("/console/sales?since=yesterday")
    assert response.status_code == 422
    assert "since" in response.get_data(as_text=True)
    assert client.get("/console/audit?since=soon").status_code == 422
    assert client.get("/console/?period=year").status_code == 422
    assert client.get("/console/reconciliation/999").status_code == 404


def test_sales_report_and_its_exports(client, admin_id, buyer):
    stock_pool(tonnes=1)
    buy(client, buyer, 2)
    buy(client, buyer, 5)
    html = client.get("/console/sales?group_by=product").get_data(as_text=True)
    assert "one_yuan" in html and 'id="sales-net">¥7.00' in html
    exported = client.get("/console/sales/export.csv?group_by=product")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["product"], r["orders"], r["net_fen"]) for r in rows] == [("one_yuan", "2", "700")]
    workbook = load_workbook(io.BytesIO(client.get("/console/sales/export.xlsx?group_by=product").data))
    assert list(workbook["sales"].iter_rows(values_only=True))[1][:2] == ("one_yuan", 2)
    assert client.get("/console/sales/export.pdf").status_code == 422


def test_payouts_of_the_month_and_their_csv(client, admin_id, buyer):
    stock_pool(tonnes=1)
    buy(client, buyer, 4)
    html = client.get("/console/payouts").get_data(as_text=True)
    assert "林农陈某" in html and '<b id="payouts-total">4.00</b>' in html
    exported = client.get("/console/payouts/export.csv")
    assert exported.status_code == 200
    assert "林农陈某" in exported.get_data(as_text=True)


def test_resolving_by_explanation_changes_the_discrepancy_and_is_audited(client, admin_id, buyer):
    scene = reconciled_run(client, buyer, admin_id)
    run_page = f"/console/reconciliation/{scene['run_id']}"
    assert "NOT-OURS-0001" in client.get(run_page).get_data(as_text=True)
    response = post_form(
        client,
        run_page,
        f"/console/discrepancies/{scene['unknown']}/resolve",
        {"action": "explain", "note": "a test payment of another shop"},
    )
    assert response.status_code == 200
    assert f"Discrepancy {scene['unknown']} resolved: explained" in response.get_data(as_text=True)
    found = discrepancy(scene["unknown"])
    assert found.resolution == Resolution.EXPLAINED and found.resolved_by == admin_id
    entries, _ = audit.list_entries(page=1, page_size=10, action="reconciliation.explain")
    assert [e.entity_id for e in entries] == [str(scene["unknown"])]


def test_fulfilling_a_missed_payment_from_the_console(client, admin_id, buyer):
    scene = reconciled_run(client, buyer, admin_id)
    response = post_form(
        client,
        f"/console/reconciliation/{scene['run_id']}",
        f"/console/discrepancies/{scene['missed']}/resolve",
        {"action": "fulfil", "note": ""},
    )
    assert "resolved: fulfilled" in response.get_data(as_text=True)
    assert discrepancy(scene["missed"]).resolution == Resolution.FULFILLED
    order = client.get(f"/api/v1/orders/{scene['order']}", headers=buyer)
    assert order.json["status"] == "fulfilled"


def test_an_action_that_does_not_apply_is_refused_with_a_message(client, admin_id, buyer):
    scene = reconciled_run(client, buyer, admin_id)
    page = f"/console/reconciliation/{scene['run_id']}"
    response = post_form(
        client, page, f"/console/discrepancies/{scene['unknown']}/resolve", {"action": "fulfil"}
    )
    assert "not resolved" in response.get_data(as_text=True)
    response = post_form(
        client, page, f"/console/discrepancies/{scene['unknown']}/resolve", {"action": "explain"}
    )
    assert "Say why no action is needed" in response.get_data(as_text=True)
    assert discrepancy(scene["unknown"]).resolution is None


def test_resolve_without_the_csrf_token_is_refused(client, admin_id, buyer):
    scene = reconciled_run(client, buyer, admin_id)
    response = client.post(
        f"/console/discrepancies/{scene['unknown']}/resolve", data={"action": "explain", "note": "x"}
    )
    assert response.status_code == 400
    assert discrepancy(scene["unknown"]).resolution is None


def test_a_form_posted_without_a_signed_in_admin_goes_to_login(client, buyer):
    console_login(client, "someone")
    scene = reconciled_run(client, buyer, None)
    token = csrf_token(client.get("/console/"))
    with client.session_transaction("/console/") as session:
        session.pop(SESSION_KEY)
    response = client.post(
        f"/console/discrepancies/{scene['unknown']}/resolve",
        data={"action": "explain", "note": "x", "csrf_token": token},
    )
    assert response.status_code == 302 and response.location.startswith("/console/login")
    assert discrepancy(scene["unknown"]).resolution is None


@pytest.fixture
def sold_tonne(client, buyer):
    stock_pool(tonnes=1)
    buy(client, buyer, 100, holder_name="陈小明")  # 100 × 10 kg: the whole tonne


def test_retirement_submit_confirm_from_the_console(client, admin_id, sold_tonne):
    retirement_id = draft_retirement(admin_id)
    page = f"/console/retirements/{retirement_id}"
    assert f"#{retirement_id}" in client.get("/console/retirements").get_data(as_text=True)
    html = client.get(page).get_data(as_text=True)
    assert 'id="retirement-status" class="status-draft">draft' in html
    assert html.count('class="beneficiary"') == 1
    response = post_form(client, page, f"{page}/submit", {"submission_ref": "SQ-7"})
    assert "submitted" in response.get_data(as_text=True)
    response = post_form(
        client,
        page,
        f"{page}/confirm",
        {"registry_ref": "FJ-2026-0042", "registry_url": "", "retired_on": beijing_time.today().isoformat()},
    )
    html = response.get_data(as_text=True)
    assert 'class="status-confirmed">confirmed' in html and "FJ-2026-0042" in html
    entries, _ = audit.list_entries(page=1, page_size=10, entity="retirement")
    assert [e.action for e in entries] == ["retirement.confirm", "retirement.submit", "retirement.create"]
    csv_text = client.get(f"{page}/tonnes.csv").get_data(as_text=True)
    assert csv_text.count("\r\n") == 2  # header and the one tonne


def test_retirement_confirm_needs_its_reference_and_cancel_its_reason(client, admin_id, sold_tonne):
    retirement_id = draft_retirement(admin_id)
    page = f"/console/retirements/{retirement_id}"
    response = post_form(client, page, f"{page}/confirm", {"registry_ref": "X", "retired_on": "2026-01-01"})
    assert "unchanged" in response.get_data(as_text=True)  # a draft is not submitted yet
    response = post_form(client, page, f"{page}/cancel", {"reason": ""})
    assert "Say why it is cancelled" in response.get_data(as_text=True)
    response = post_form(client, page, f"{page}/cancel", {"reason": "wrong kind"})
    assert 'class="status-cancelled">cancelled' in response.get_data(as_text=True)


def test_retirement_step_without_csrf_is_refused(client, admin_id, sold_tonne):
    retirement_id = draft_retirement(admin_id)
    response = client.post(f"/console/retirements/{retirement_id}/cancel", data={"reason": "no"})
    assert response.status_code == 400
    assert "status-draft" in client.get(f"/console/retirements/{retirement_id}").get_data(as_text=True)


def test_audit_log_filters_and_pages(client, admin_id, sold_tonne):
    retirement_id = draft_retirement(admin_id)
    page = f"/console/retirements/{retirement_id}"
    post_form(client, page, f"{page}/submit", {"submission_ref": "SQ-1"})
    html = client.get("/console/audit?entity=retirement").get_data(as_text=True)
    assert html.count('class="entry"') == 2 and "retirement.submit" in html
    html = client.get("/console/audit?action=retirement.submit").get_data(as_text=True)
    assert html.count('class="entry"') == 1
    html = client.get("/console/audit?page_size=1").get_data(as_text=True)
    assert html.count('class="entry"') == 1 and 'rel="next"' in html


def test_the_console_stays_out_of_the_openapi_description(client):
    paths = client.get("/api/openapi.json").json["paths"]
    assert paths and not [path for path in paths if path.startswith("/console")]


@pytest.mark.postgres
def test_resolve_and_confirm_on_postgresql(pg_client):
    admin_id = console_login(pg_client, "pg-console-admin")
    buyer = bearer(login_user(pg_client, "pg-console-buyer")[0])
    scene = reconciled_run(pg_client, buyer, admin_id)
    response = post_form(
        pg_client,
        f"/console/reconciliation/{scene['run_id']}",
        f"/console/discrepancies/{scene['missed']}/resolve",
        {"action": "fulfil"},
    )
    assert "resolved: fulfilled" in response.get_data(as_text=True)
    assert discrepancy(scene["missed"]).resolution == Resolution.FULFILLED
    html = pg_client.get("/console/?period=month").get_data(as_text=True)
    assert html.count("<rect ") == 12 and '<b id="net-yuan">2.00</b>' in html
