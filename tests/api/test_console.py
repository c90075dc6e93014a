"""The admin console through Flask's test client: login, every page, CSRF, and the actions that change state."""

from __future__ import annotations

import base64
import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from api.console.session_auth import SESSION_KEY
from models import AuthToken, Batch, ReconciliationDiscrepancy, Resolution, Retirement
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
    "/console/batches",
    "/console/retirements",
    "/console/reductions",
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
    assert client.get("/console/batches?project_id=99999999999999999999").status_code == 422


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


# -- Batch import --

BATCH_HEADER = "project_code,vintage,serial_prefix,serial_start,serial_end,quantity_t,issued_on,registry_ref"
CARRIED = re.compile(r'name="content" value="([^"]+)"')


def batch_count() -> int:
    with unit_of_work() as session:
        return len(session.scalars(select(Batch.id)).all())


def upload_batches(client, content: str | bytes, filename: str, mode: str = "preview", **extra):
    token = csrf_token(client.get("/console/batches"))
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        "/console/batches/import",
        data={"file": (io.BytesIO(data), filename), "mode": mode, "csrf_token": token, **extra},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_a_batch_file_is_checked_without_a_trace_then_imported(client, admin_id):
    stock_pool(tonnes=0)
    before = batch_count()
    csv_text = "\n".join(
        [
            BATCH_HEADER,
            "SC-BAMBOO,2021,FFCER-CON-,1,10,10,2022-03-01,FFCER-2022-001",
            "SC-BAMBOO,2022,FFCER-CON-,11,15,5,2023-03-01,FFCER-2023-002",
        ]
    )
    preview = upload_batches(client, csv_text, "batches.csv")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html
    assert "No fault found: 2 batches, 15 t would be imported" in html
    assert html.count('class="import-row"') == 2 and "FFCER-2023-002" in html
    assert batch_count() == before  # a dry run writes nothing, not even the audit entry
    assert audit.list_entries(page=1, page_size=10, action="batches.import")[0] == []

    carried = CARRIED.search(html).group(1)
    assert base64.b64decode(carried).decode() == csv_text
    response = client.post(
        "/console/batches/import",
        data={
            "mode": "import",
            "content": carried,
            "source": "batches.csv",
            "format": "",
            "csrf_token": csrf_token(preview),
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Imported 2 batches, 15 t" in html
    assert batch_count() == before + 2
    assert "FFCER-CON-0000011" in client.get("/console/batches").get_data(as_text=True)
    (entry,), _ = audit.list_entries(page=1, page_size=10, action="batches.import")
    assert entry.actor_id == admin_id and entry.after["source"] == "batches.csv"


def test_a_bad_batch_file_shows_each_rows_faults_and_imports_nothing(client, admin_id):
    stock_pool(tonnes=0)
    before = batch_count()
    csv_text = "\n".join(
        [
            BATCH_HEADER,
            "SC-BAMBOO,2021,FFCER-BAD-,1,10,10,2022-03-01,FFCER-2022-001",
            "NO-SUCH,2021,FFCER-BAD-,11,20,9,2022-03-01,FFCER-2022-002",
        ]
    )
    for mode, status in (("preview", 200), ("import", 422)):
        response = upload_batches(client, csv_text, "batches.csv", mode)
        html = response.get_data(as_text=True)
        assert response.status_code == status, html
        assert "nothing was imported" in html
        row_two = html[html.index('id="import-row-2"') :].split("</tr>")[0]
        assert (
            "No project with code &#39;NO-SUCH&#39;" in row_two
            and "does not match the serial range" in row_two
        )
        row_one = html[html.index('id="import-row-1"') :].split("</tr>")[0]
        assert '<td class="faults"></td>' in row_one  # the good row carries no fault
        assert 'name="content"' not in html  # no form to import a file with faults
    assert batch_count() == before


def test_the_batch_form_refuses_what_is_not_a_batch_file(client, admin_id):
    response = upload_batches(client, '{"project_code": "SC-BAMBOO"}', "batches.json")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "The JSON must be a list of objects" in html
    response = upload_batches(client, b"\xff\xfe", "batches.csv")
    assert "not UTF-8" in response.get_data(as_text=True)
    response = upload_batches(client, "a,b", "batches.txt")
    assert "Unknown format" in response.get_data(as_text=True)
    response = post_form(client, "/console/batches", "/console/batches/import", {"mode": "preview"})
    assert "Nothing imported: Choose a CSV or JSON file" in response.get_data(as_text=True)
    response = post_form(
        client, "/console/batches", "/console/batches/import", {"mode": "import", "content": "%%%"}
    )
    assert "damaged" in response.get_data(as_text=True)
    response = upload_batches(client, "[]", "batches.json", format="xml")
    assert "Choose csv or json" in response.get_data(as_text=True)


def test_batch_import_without_csrf_is_refused(client, admin_id):
    stock_pool(tonnes=0)
    before = batch_count()
    csv_text = f"{BATCH_HEADER}\nSC-BAMBOO,2021,FFCER-CSRF-,1,1,1,2022-03-01,R-1\n"
    response = client.post(
        "/console/batches/import",
        data={"file": (io.BytesIO(csv_text.encode()), "b.csv"), "mode": "import"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert batch_count() == before


# -- Drafting a retirement and moving it from the list --


def retirement_statuses() -> list[str]:
    with unit_of_work() as session:
        return [r.status.value for r in session.scalars(select(Retirement).order_by(Retirement.id))]


def test_a_retirement_is_drafted_submitted_and_confirmed_from_the_list(client, admin_id, sold_tonne):
    page = "/console/retirements"
    assert "FFCER · 1 t retirable" in client.get(page).get_data(as_text=True)
    response = post_form(client, page, page, {"kind": "FFCER", "note": "first filing"})
    html = response.get_data(as_text=True)
    (retirement_id,) = [int(n) for n in re.findall(r'id="retirement-(\d+)"', html)]
    assert f"Retirement {retirement_id} drafted: 1 t FFCER" in html
    assert "FFCER · 0 t retirable" in html
    row = html[html.index(f'id="retirement-{retirement_id}"') :].split("</tr>")[0]
    assert 'class="status-draft">draft' in row and "submit-retirement" in row

    step = f"/console/retirements/{retirement_id}"
    response = post_form(client, page, f"{step}/submit", {"submission_ref": "SQ-9", "back": "list"})
    assert response.request.path == page
    html = response.get_data(as_text=True)
    row = html[html.index(f'id="retirement-{retirement_id}"') :].split("</tr>")[0]
    assert 'class="status-submitted">submitted' in row and "SQ-9" in row and "confirm-retirement" in row

    today = beijing_time.today().isoformat()
    response = post_form(
        client, page, f"{step}/confirm", {"registry_ref": "FJ-2026-0077", "retired_on": today, "back": "list"}
    )
    html = response.get_data(as_text=True)
    row = html[html.index(f'id="retirement-{retirement_id}"') :].split("</tr>")[0]
    assert 'class="status-confirmed">confirmed' in row and "FJ-2026-0077" in row and "<form" not in row
    entries, _ = audit.list_entries(page=1, page_size=10, entity="retirement")
    assert [(e.action, e.actor_id) for e in entries] == [
        ("retirement.confirm", admin_id),
        ("retirement.submit", admin_id),
        ("retirement.create", admin_id),
    ]
    assert entries[-1].after["note"] == "first filing"


@pytest.mark.parametrize(
    "form, message",
    [
        ({"kind": ""}, "Choose the credit kind to retire"),
        ({"kind": "NOPE"}, "No credit kind &#39;NOPE&#39;"),
        ({"kind": "FFCER", "max_tonnes": "0"}, "max_tonnes: write a whole number from 1"),
        ({"kind": "FFCER", "max_tonnes": "lots"}, "max_tonnes: write a whole number"),
        ({"kind": "FFCER", "project_id": "99999999999999999999"}, "project_id: write a whole number"),
        ({"kind": "FFCER", "project_id": "9" * 5000}, "project_id: write a whole number"),
        ({"kind": "FFCER", "batch_ids": "1 " + "7" * 5000}, "batch_ids: write a whole number"),
        ({"kind": "FFCER", "project_id": "424242"}, "Project 424242 does not exist"),
        ({"kind": "FFCER", "batch_ids": "1, x"}, "batch_ids: write a whole number"),
        ({"kind": "FFCER", "note": "n" * 2001}, "note: at most 2000 characters"),
    ],
)
def test_the_draft_form_refuses_bad_input_with_a_message(client, admin_id, sold_tonne, form, message):
    response = post_form(client, "/console/retirements", "/console/retirements", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "No retirement drafted" in html and message in html
    assert retirement_statuses() == []


def test_nothing_to_retire_is_said_and_overlong_references_refused(client, admin_id, sold_tonne):
    retirement_id = draft_retirement(admin_id)
    page = "/console/retirements"
    response = post_form(client, page, page, {"kind": "FFCER"})
    assert "No fully sold FFCER tonne is waiting" in response.get_data(as_text=True)
    step = f"/console/retirements/{retirement_id}"
    response = post_form(client, page, f"{step}/submit", {"submission_ref": "S" * 201, "back": "list"})
    assert "submission_ref: at most 200 characters" in response.get_data(as_text=True)
    response = post_form(client, page, f"{step}/confirm", {"registry_ref": "", "retired_on": "2026-01-01"})
    assert "Give the registry&#39;s reference" in response.get_data(as_text=True)
    assert retirement_statuses() == ["draft"]


def test_drafting_without_csrf_is_refused(client, admin_id, sold_tonne):
    response = client.post("/console/retirements", data={"kind": "FFCER"})
    assert response.status_code == 400
    assert retirement_statuses() == []


@pytest.mark.postgres
def test_batch_dry_run_and_import_on_postgresql(pg_client):
    console_login(pg_client, "pg-batch-admin")
    stock_pool(tonnes=0)
    before = batch_count()
    csv_text = f"{BATCH_HEADER}\nSC-BAMBOO,2021,FFCER-PG-,1,4,4,2022-03-01,FFCER-PG-1\n"
    preview = upload_batches(pg_client, csv_text, "pg.csv")
    assert "No fault found: 1 batch, 4 t" in preview.get_data(as_text=True)
    assert batch_count() == before
    response = upload_batches(pg_client, csv_text, "pg.csv", mode="import")
    assert "Imported 1 batch, 4 t" in response.get_data(as_text=True)
    assert batch_count() == before + 1
    again = upload_batches(pg_client, csv_text, "pg.csv")  # the same serials are now in the pool
    assert "already in the pool" in again.get_data(as_text=True)
