"""Reduction batches in the admin console: a month's actions, building, submitting, issuing, refusals."""

from __future__ import annotations

import html as html_escape

import pytest
from sqlalchemy import select

from models import ActionKind, ReductionBatch
from models.database import unit_of_work
from services.actions import methodology
from services.kernel import beijing_time
from services.pool.pool_audit import run_audit
from tests.support.accounts import login_user
from tests.support.console import console_login, post_form
from tests.support.reductions import TONNE, closed_month, day_in, make_action

BUS = methodology.methodology_of(ActionKind.BUS)


@pytest.fixture
def admin_id(client):
    return console_login(client)


@pytest.fixture
def month(client):
    """A closed month with 1.2 t of A's and B's bus trips and one of A's metro trips."""
    month = closed_month()
    a = login_user(client, "console-reducer-a")[1]["id"]
    b = login_user(client, "console-reducer-b")[1]["id"]
    make_action(a, day_in(month, 2), ActionKind.BUS, 700_000)
    make_action(b, day_in(month, 3), ActionKind.BUS, 500_000)
    make_action(a, day_in(month, 4), ActionKind.METRO, 90_000)
    return month


def text_of(response) -> str:
    return html_escape.unescape(response.get_data(as_text=True))


def bus_batch_id() -> int:
    with unit_of_work() as session:
        return session.scalar(select(ReductionBatch.id).where(ReductionBatch.methodology == BUS))


def test_the_list_shows_a_months_actions_and_builds_its_batches(client, admin_id, month):
    listed = text_of(client.get("/console/reductions", query_string={"month": f"{month:%Y-%m}"}))
    assert 'id="month-summary"' in listed and "1,200,000" in listed
    built = post_form(client, "/console/reductions", "/console/reductions", {"month": f"{month:%Y-%m}"})
    page = text_of(built)
    assert "Made 2 draft batches" in page and page.count('class="reduction-batch"') == 2
    again = post_form(client, "/console/reductions", "/console/reductions", {"month": f"{month:%Y-%m}"})
    assert "No batch made" in text_of(again) and "left to batch" in text_of(again)
    open_month = f"{beijing_time.today():%Y-%m}"
    refused = post_form(client, "/console/reductions", "/console/reductions", {"month": open_month})
    assert "No batch made" in text_of(refused) and "can be batched from" in text_of(refused)
    bad = client.get("/console/reductions", query_string={"month": "2026-13"})
    assert bad.status_code == 422 and "YYYY-MM" in text_of(bad)


def test_a_batch_is_submitted_and_issued_from_its_page(client, admin_id, month):
    post_form(client, "/console/reductions", "/console/reductions", {"month": f"{month:%Y-%m}"})
    page = f"/console/reductions/{bus_batch_id()}"
    shown = text_of(client.get(page))
    assert 'class="status-draft">draft' in shown and shown.count('class="contributor"') == 2

    form = {
        "issued_t": "2",
        "registry_ref": "CIER-2026-0011",
        "serial_prefix": "CIER-C-",
        "serial_start": "100",
        "issued_on": beijing_time.today().isoformat(),
        "price_fen_per_t": "25000",
    }
    early = post_form(client, page, f"{page}/issue", {**form, "issued_t": "1"})
    assert "unchanged" in text_of(early) and "cannot become issued" in text_of(early)
    submitted = post_form(client, page, f"{page}/submit", {"application_ref": "SQ-11"})
    assert 'class="status-submitted">submitted' in text_of(submitted) and "SQ-11" in text_of(submitted)

    too_much = text_of(post_form(client, page, f"{page}/issue", form))
    assert "unchanged" in too_much and "more than the batch's 1,200,000 g" in too_much
    no_price = text_of(
        post_form(client, page, f"{page}/issue", {**form, "issued_t": "1", "price_fen_per_t": ""})
    )
    assert "price_fen_per_t" in no_price and 'class="status-submitted"' in no_price

    issued = text_of(post_form(client, page, f"{page}/issue", {**form, "issued_t": "1"}))
    assert 'class="status-issued">issued' in issued and "CIER-C-0000100" in issued
    with unit_of_work() as session:
        batch = session.get(ReductionBatch, bus_batch_id())
        assert (batch.issued_g, batch.registry_ref) == (TONNE, "CIER-2026-0011")
    assert "CIER" in text_of(client.get("/console/batches"))
    assert list(run_audit()) == []


def test_a_step_without_the_csrf_token_is_refused(client, admin_id, month):
    post_form(client, "/console/reductions", "/console/reductions", {"month": f"{month:%Y-%m}"})
    batch_id = bus_batch_id()
    refused = client.post(f"/console/reductions/{batch_id}/submit", data={"application_ref": "SQ-1"})
    assert refused.status_code == 400
    assert "status-draft" in text_of(client.get(f"/console/reductions/{batch_id}"))
    unknown = post_form(client, f"/console/reductions/{batch_id}", f"/console/reductions/{batch_id}/undo", {})
    assert "Unknown step" in text_of(unknown)
    assert client.get("/console/reductions/999999").status_code == 404
