"""Registry retirement: whole sold tonnes, the draft → submitted → confirmed workflow, locks and proofs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from models import Batch, RetiredTonne, Retirement, RetirementStatus, utcnow
from models.database import unit_of_work
from services.kernel import beijing_time
from services.pool.pool_audit import run_audit
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.pool import stock_pool
from tests.support.sales import add_batch, batch_grams, buy

TONNE = 1_000_000


@pytest.fixture
def admin(client):
    token, _ = login_admin(client)
    return bearer(token)


@pytest.fixture
def buyers(client):
    return [bearer(login_user(client, f"buyer-{name}")[0]) for name in "abc"]


@pytest.fixture
def sales(client, buyers):
    """A 3 t batch: A buys 1.5 t (tonne 0 and half of tonne 1), B the other half of tonne 1, C 0.2 t of tonne 2."""
    project_id, _ = stock_pool(tonnes=0)
    batch_id = add_batch(project_id, 3)
    a, b, c = buyers
    return {
        "batch_id": batch_id,
        "a": buy(client, a, 150, holder_name="陈小明"),
        "b": buy(client, b, 50, holder_name="李华"),
        "c": buy(client, c, 20),
    }


def retirable(client, admin, **query):
    response = client.get("/api/v1/admin/retirements/retirable", query_string=query, headers=admin)
    assert response.status_code == 200, response.json
    return [(row["batch_id"], row["tonne_index"]) for row in response.json]


def draft(client, admin, **body):
    return client.post("/api/v1/admin/retirements", json={"kind": "FFCER", **body}, headers=admin)


REGISTRY_REF = "FJ-ZX-2026-0042"
REGISTRY_URL = "https://registry.example.cn/retirements/0042"


def confirm(client, admin, retirement_id):
    """Record the registry's confirmation of a submitted retirement."""
    confirmed = client.post(
        f"/api/v1/admin/retirements/{retirement_id}/confirm",
        json={
            "registry_ref": REGISTRY_REF,
            "registry_url": REGISTRY_URL,
            "retired_on": beijing_time.today().isoformat(),
        },
        headers=admin,
    )
    assert confirmed.status_code == 200, confirmed.json
    return confirmed.json


def submit_and_confirm(client, admin, retirement_id):
    submitted = client.post(
        f"/api/v1/admin/retirements/{retirement_id}/submit", json={"submission_ref": "SQ-1"}, headers=admin
    )
    assert submitted.status_code == 200 and submitted.json["submission_ref"] == "SQ-1", submitted.json
    return confirm(client, admin, retirement_id)


def certificate_of(client, headers):
    """The buyer's one valid certificate."""
    certificates = client.get("/api/v1/me/certificates", headers=headers).json
    (certificate,) = [c for c in certificates if c["status"] == "valid"]
    return certificate


def test_tonnes_become_retirable_only_when_fully_sold(client, admin, buyers):
    project_id, _ = stock_pool(tonnes=0)
    batch_id = add_batch(project_id, 3)
    a, b, c = buyers
    assert retirable(client, admin) == []
    buy(client, a, 150)  # grams [0, 1.5 t): the allocation spans the boundary of tonnes 0 and 1
    assert retirable(client, admin) == [(batch_id, 0)]
    # Reserved but unpaid grams do not make a tonne sold.
    client.post("/api/v1/orders", json={"product": "one_yuan", "units": 50}, headers=b)
    assert retirable(client, admin) == [(batch_id, 0)]
    buy(client, c, 100)  # takes [2 t, 3 t): the unpaid order holds [1.5 t, 2 t)
    assert retirable(client, admin) == [(batch_id, 0), (batch_id, 2)]
    rows = client.get("/api/v1/admin/retirements/retirable", headers=admin).json
    with unit_of_work() as session:
        batch = session.get(Batch, batch_id)
        assert [row["serial"] for row in rows] == [batch.serial(0), batch.serial(2)]
    assert retirable(client, admin, kind="CCER") == []
    assert retirable(client, admin, project_id=project_id) == [(batch_id, 0), (batch_id, 2)]
    created = draft(client, admin).json
    assert [(run["first"], run["last"]) for run in created["batches"][0]["serials"]] == [
        (rows[0]["serial"], rows[0]["serial"]),
        (rows[1]["serial"], rows[1]["serial"]),
    ]


def test_a_draft_locks_its_tonnes_and_no_tonne_goes_in_twice(client, admin, sales):
    batch_id = sales["batch_id"]
    first = draft(client, admin, note="first filing")
    assert first.status_code == 201, first.json
    body = first.json
    assert body["status"] == "draft" and body["tonnes"] == 2 and body["grams"] == 2 * TONNE
    (entry,) = body["batches"]
    assert entry["batch_id"] == batch_id and entry["tonnes"] == 2
    assert len(entry["serials"]) == 1 and entry["serials"][0]["tonnes"] == 2

    assert retirable(client, admin) == []
    again = draft(client, admin)
    assert again.status_code == 409 and "No fully sold FFCER tonne" in again.json["message"]

    # The database refuses a second active row for the same tonne, whatever the code does.
    with pytest.raises(IntegrityError), unit_of_work() as session:
        session.add(RetiredTonne(retirement_id=body["id"], batch_id=batch_id, tonne_index=0, serial="x"))

    cancelled = client.post(
        f"/api/v1/admin/retirements/{body['id']}/cancel", json={"reason": "wrong registry"}, headers=admin
    )
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert retirable(client, admin) == [(batch_id, 0), (batch_id, 1)]
    second = draft(client, admin, max_tonnes=1)
    assert second.status_code == 201 and second.json["tonnes"] == 1
    assert retirable(client, admin) == [(batch_id, 1)]
    assert list(run_audit()) == []


def test_draft_input_errors_are_clear(client, admin, sales):
    assert client.post("/api/v1/admin/retirements", json={}, headers=admin).status_code == 422
    unknown = draft(client, admin, kind="NOPE")
    assert unknown.status_code == 404 and "kind" in unknown.json["errors"]
    assert draft(client, admin, max_tonnes=0).status_code == 422
    assert draft(client, admin, project_id=999).status_code == 404
    assert client.get("/api/v1/admin/retirements/999", headers=admin).status_code == 404


def test_confirmation_adds_retired_grams_and_every_step_is_audited(client, admin, sales):
    batch_id = sales["batch_id"]
    retirement_id = draft(client, admin).json["id"]
    early = client.post(
        f"/api/v1/admin/retirements/{retirement_id}/confirm",
        json={"registry_ref": "R-1", "retired_on": beijing_time.today().isoformat()},
        headers=admin,
    )
    assert early.status_code == 409 and early.json["error"] == "invalid_state"
    assert batch_grams(batch_id)["retired_g"] == 0

    client.post(f"/api/v1/admin/retirements/{retirement_id}/submit", json={}, headers=admin)
    future = client.post(
        f"/api/v1/admin/retirements/{retirement_id}/confirm",
        json={"registry_ref": "R-1", "retired_on": (beijing_time.today() + timedelta(days=3)).isoformat()},
        headers=admin,
    )
    assert future.status_code == 422 and "retired_on" in future.json["errors"]
    no_ref = client.post(
        f"/api/v1/admin/retirements/{retirement_id}/confirm",
        json={"retired_on": beijing_time.today().isoformat()},
        headers=admin,
    )
    assert no_ref.status_code == 422 and "registry_ref" in no_ref.json["errors"]["json"]
    bad_url = client.post(
        f"/api/v1/admin/retirements/{retirement_id}/confirm",
        json={
            "registry_ref": "R",
            "registry_url": "javascript:alert(1)",
            "retired_on": beijing_time.today().isoformat(),
        },
        headers=admin,
    )
    assert bad_url.status_code == 422

    confirmed = confirm(client, admin, retirement_id)
    assert confirmed["status"] == "confirmed" and confirmed["registry_ref"] == REGISTRY_REF
    assert batch_grams(batch_id) == {"sold_g": 2_200_000, "retired_g": 2 * TONNE, "available_g": 800_000}
    listed = client.get("/api/v1/admin/batches", headers=admin).json
    assert next(b for b in listed if b["id"] == batch_id)["retired_g"] == 2 * TONNE

    cancel = client.post(
        f"/api/v1/admin/retirements/{retirement_id}/cancel", json={"reason": "x"}, headers=admin
    )
    assert cancel.status_code == 409
    twice = client.post(
        f"/api/v1/admin/retirements/{retirement_id}/confirm",
        json={"registry_ref": "R-2", "retired_on": beijing_time.today().isoformat()},
        headers=admin,
    )
    assert twice.status_code == 409 and batch_grams(batch_id)["retired_g"] == 2 * TONNE

    log = client.get("/api/v1/admin/audit-log", query_string={"entity": "retirement"}, headers=admin).json
    assert [entry["action"] for entry in log] == [
        "retirement.confirm",
        "retirement.submit",
        "retirement.create",
    ]
    assert log[0]["before"]["status"] == "submitted" and log[0]["after"]["status"] == "confirmed"
    listed = client.get("/api/v1/admin/retirements", query_string={"status": "confirmed"}, headers=admin)
    assert [r["id"] for r in listed.json] == [retirement_id]
    assert list(run_audit()) == []


def test_refund_of_grams_in_a_retirement_is_refused(client, admin, buyers, sales):
    a, b, c = buyers
    retirement_id = draft(client, admin).json["id"]
    for number, headers in ((sales["a"], a), (sales["b"], b)):
        refused = client.post(f"/api/v1/orders/{number}/refunds", json={"grams": 10_000}, headers=headers)
        assert refused.status_code == 409, refused.json
        assert "retired" in refused.json["message"]
    by_admin = client.post(
        f"/api/v1/admin/orders/{sales['b']}/refunds", json={"reason": "asked"}, headers=admin
    )
    assert by_admin.status_code == 409
    # C's grams lie in tonne 2, which no retirement holds.
    allowed = client.post(f"/api/v1/orders/{sales['c']}/refunds", json={"grams": 10_000}, headers=c)
    assert allowed.status_code == 201 and allowed.json["status"] == "succeeded"

    client.post(f"/api/v1/admin/retirements/{retirement_id}/cancel", json={"reason": "redo"}, headers=admin)
    after_cancel = client.post(f"/api/v1/orders/{sales['b']}/refunds", json={"grams": 10_000}, headers=b)
    assert after_cancel.status_code == 201
    assert retirable(client, admin) == [(sales["batch_id"], 0)]
    assert list(run_audit()) == []


def test_refund_of_confirmed_retired_grams_is_refused(client, admin, buyers, sales):
    retirement_id = draft(client, admin).json["id"]
    submit_and_confirm(client, admin, retirement_id)
    refused = client.post(f"/api/v1/orders/{sales['b']}/refunds", json={}, headers=buyers[1])
    assert refused.status_code == 409
    assert client.get(f"/api/v1/orders/{sales['b']}", headers=buyers[1]).json["status"] == "fulfilled"


def test_verification_shows_the_registry_retirement(client, admin, buyers, sales):
    certificate = certificate_of(client, buyers[1])
    code = certificate["verification_code"]
    before = client.get(f"/api/v1/certificates/{code}").json
    assert [claim["retirement"] for claim in before["claims"]] == ["pending"]
    assert before["claims"][0]["registry_retirement"] is None

    retirement_id = draft(client, admin).json["id"]
    client.post(f"/api/v1/admin/retirements/{retirement_id}/submit", json={}, headers=admin)
    still = client.get(f"/api/v1/certificates/{code}").json
    assert still["claims"][0]["retirement"] == "pending"  # filed, not yet retired

    confirm(client, admin, retirement_id)
    after = client.get(f"/api/v1/certificates/{code}").json
    (claim,) = after["claims"]
    assert claim["retirement"] == "retired"
    assert claim["registry_retirement"] == {
        "registry_ref": REGISTRY_REF,
        "registry_url": REGISTRY_URL,
        "retired_on": beijing_time.today().isoformat(),
    }
    page = client.get(f"/verify/{code}").get_data(as_text=True)
    assert "已注销" in page and REGISTRY_REF in page and REGISTRY_URL in page

    # C's certificate draws on tonne 2, which is not retired.
    c_code = certificate_of(client, buyers[2])["verification_code"]
    assert client.get(f"/api/v1/certificates/{c_code}").json["claims"][0]["retirement"] == "pending"
    # A's certificate spans tonnes 0 and 1, both retired.
    a_code = certificate_of(client, buyers[0])["verification_code"]
    assert {c["retirement"] for c in client.get(f"/api/v1/certificates/{a_code}").json["claims"]} == {
        "retired"
    }


def test_tonne_list_csv_and_beneficiaries(client, admin, buyers, sales):
    retirement_id = draft(client, admin).json["id"]
    with unit_of_work() as session:
        batch = session.get(Batch, sales["batch_id"])
        serials = [batch.serial(0), batch.serial(1)]
    export = client.get(f"/api/v1/admin/retirements/{retirement_id}/tonnes.csv", headers=admin)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    text = export.get_data(as_text=True)
    assert text.startswith("\ufeff")
    lines = text.lstrip("\ufeff").strip().split("\r\n")
    assert lines[0].split(",")[:2] == ["serial", "kind"]
    assert [line.split(",")[0] for line in lines[1:]] == serials

    tonnes = client.get(f"/api/v1/admin/retirements/{retirement_id}/tonnes", headers=admin)
    assert [t["serial"] for t in tonnes.json] == serials
    assert '"total": 2' in tonnes.headers["X-Pagination"]

    beneficiaries = client.get(f"/api/v1/admin/retirements/{retirement_id}/beneficiaries", headers=admin).json
    numbers = {
        "a": certificate_of(client, buyers[0])["number"],
        "b": certificate_of(client, buyers[1])["number"],
    }
    got = sorted((b["serial"], b["out_trade_no"], b["certificate_number"], b["grams"]) for b in beneficiaries)
    assert got == sorted(
        [
            (serials[0], sales["a"], numbers["a"], TONNE),
            (serials[1], sales["a"], numbers["a"], 500_000),
            (serials[1], sales["b"], numbers["b"], 500_000),
        ]
    )
    for serial in serials:
        assert sum(b["grams"] for b in beneficiaries if b["serial"] == serial) == TONNE


def test_audit_finds_a_retired_tonne_not_fully_sold(client, admin, sales):
    batch_id = sales["batch_id"]
    assert list(run_audit()) == []
    with unit_of_work() as session:  # plant tonne 2, only 0.2 t sold, in a confirmed retirement
        retirement = Retirement(
            kind_code="FFCER",
            status=RetirementStatus.CONFIRMED,
            tonnes=1,
            registry_ref="PLANTED",
            retired_on=beijing_time.today(),
            confirmed_at=utcnow(),
        )
        session.add(retirement)
        session.flush()
        batch = session.get(Batch, batch_id)
        session.add(
            RetiredTonne(
                retirement_id=retirement.id, batch_id=batch_id, tonne_index=2, serial=batch.serial(2)
            )
        )
        session.execute(update(Batch).where(Batch.id == batch_id).values(retired_g=TONNE))
    rules = {(v.rule, v.subject) for v in run_audit()}
    assert ("retired-not-sold", f"batch {batch_id} tonne 2") in rules
    messages = [str(v) for v in run_audit() if v.rule == "retired-not-sold"]
    assert "200000 of 1000000 g" in messages[0]

    with unit_of_work() as session:  # and retired grams that no confirmed tonne accounts for
        session.execute(update(Batch).where(Batch.id == batch_id).values(retired_g=2 * TONNE))
    assert ("retired-count", f"batch {batch_id}") in {(v.rule, v.subject) for v in run_audit()}
    result = client.application.test_cli_runner().invoke(args=["credits", "audit"])
    assert result.exit_code == 1 and "retired-not-sold" in result.output


ADMIN_ENDPOINTS = [
    ("get", "/api/v1/admin/retirements"),
    ("get", "/api/v1/admin/retirements/retirable"),
    ("post", "/api/v1/admin/retirements"),
    ("get", "/api/v1/admin/retirements/1"),
    ("get", "/api/v1/admin/retirements/1/tonnes"),
    ("get", "/api/v1/admin/retirements/1/tonnes.csv"),
    ("get", "/api/v1/admin/retirements/1/beneficiaries"),
    ("post", "/api/v1/admin/retirements/1/submit"),
    ("post", "/api/v1/admin/retirements/1/confirm"),
    ("post", "/api/v1/admin/retirements/1/cancel"),
    ("get", "/api/v1/admin/payouts?month=2026-11"),
    ("get", "/api/v1/admin/payouts/summary?month=2026-11"),
    ("get", "/api/v1/admin/payouts/export?month=2026-11"),
    ("get", "/api/v1/admin/dashboard"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ENDPOINTS)
def test_admin_endpoints_refuse_users_and_strangers(client, user_headers, method, path):
    call = getattr(client, method)
    kwargs = {"json": {}} if method == "post" else {}
    assert call(path, **kwargs).status_code == 401
    refused = call(path, headers=user_headers, **kwargs)
    assert refused.status_code == 403 and refused.json["error"] == "forbidden"
