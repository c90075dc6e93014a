"""Land-use compensation (经营性项目用地碳汇补偿): grams from the area and the cited factor, the fee
split to the fen between the state and the forest-land owner, the payout report, the certificate."""

from __future__ import annotations

import io
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import update

from models import LandCompensation
from models.database import unit_of_work
from services.forestry.loss_factor import DATA_FILE
from services.kernel import beijing_time
from tests.support.accounts import bearer, login_admin
from tests.support.events import organiser
from tests.support.forestry import audit_violations, pay
from tests.support.pool import stock_pool

AREA_M2 = 12_345
PERMIT = {
    "permit_number": "晋林地许准〔2026〕88号",
    "permit_authority": "山西省林业和草原局",
    "business_project": "朔州某物流园",
    "location": "朔州市朔城区",
    "occupied_area_m2": AREA_M2,
}


@pytest.fixture
def app_overrides():
    return {"LAND_COMPENSATION_STATE_SHARE_BP": 3_333}  # a share that leaves a fen to place


@pytest.fixture
def admin(client):
    return bearer(login_admin(client)[0])


@pytest.fixture
def company(client, admin):
    return organiser(client, "logistics-code", "朔州某物流公司", admin_token=admin["Authorization"][7:])


@pytest.fixture
def project_id():
    return stock_pool(tonnes=200, owner="右玉县国有林场")[0]


def _expected_grams(area_m2: int) -> int:
    factor = Decimal(json.loads(DATA_FILE.read_text(encoding="utf-8"))["factor"]["t_co2e_per_ha"])
    loss = (Decimal(area_m2) * factor * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return -(-int(loss) // 1_000) * 1_000


def _create(client, who, key=None, **body):
    headers = {**who["headers"], **({"Idempotency-Key": key} if key else {})}
    return client.post(
        f"/api/v1/organisations/{who['organisation_id']}/land-compensations", json=body, headers=headers
    )


def test_the_factor_is_the_cited_statistic_and_the_quote_follows_it(client, company, project_id):
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    figures = data["factor"]["source"]["figures"]
    derived = Decimal(figures["vegetation_carbon_stock_t_c"]) * 44 / (12 * Decimal(figures["forest_area_ha"]))
    assert derived.quantize(Decimal("0.01")) == Decimal(data["factor"]["t_co2e_per_ha"])
    assert data["policy"]["paragraph"].startswith("三、二是") and "按比例分成" in data["policy"]["text"]

    quote = client.get(
        "/api/v1/land-compensations/quote",
        query_string={"occupied_area_m2": AREA_M2},
        headers=company["headers"],
    )
    assert quote.status_code == 200, quote.json
    body = quote.json
    assert body["loss_g"] == 188_619_255  # 12,345 m² x 152.79 t/ha x 100 g/m² per t/ha
    assert body["grams"] == _expected_grams(AREA_M2) == 188_620_000
    (option,) = body["options"]
    assert option["project_id"] == project_id and option["amount_fen"] == 1_886_200
    assert option["state_fen"] + option["owner_fen"] == option["amount_fen"]
    assert option["state_fen"] == 1_886_200 * 3_333 // 10_000  # 628,670.46: the odd fen goes to the owner
    bad = client.get(
        "/api/v1/land-compensations/quote", query_string={"occupied_area_m2": 0}, headers=company["headers"]
    )
    assert bad.status_code == 422


def test_a_permit_is_compensated_paid_certified_and_paid_out_to_state_and_owner(
    client, admin, company, project_id
):
    placed = _create(client, company, "permit-88", project_id=project_id, **PERMIT)
    assert placed.status_code == 201, placed.json
    compensation, order = placed.json["compensation"], placed.json["purchase"]["order"]
    assert order["channel"] == "land_compensation" and order["grams"] == compensation["grams"] == 188_620_000
    assert compensation["amount_fen"] == order["amount_fen"] == 1_886_200
    assert compensation["state_fen"] + compensation["owner_fen"] == compensation["amount_fen"]
    assert (compensation["state_fen"], compensation["owner_fen"]) == (628_670, 1_257_530)
    assert PERMIT["permit_number"] in compensation["certificate_statement"]

    again = _create(client, company, "permit-88", project_id=project_id, **PERMIT)
    assert again.status_code == 201 and again.json["compensation"]["id"] == compensation["id"]
    assert again.json["purchase"]["order"]["out_trade_no"] == order["out_trade_no"]
    reused = _create(client, company, "permit-88", project_id=project_id, **{**PERMIT, "location": "别处"})
    assert reused.status_code == 422
    twice = _create(client, company, project_id=project_id, **PERMIT)
    assert twice.status_code == 409 and "permit_number" in twice.json["errors"]

    code = compensation["public_code"]
    assert client.get(f"/api/v1/public/land-compensations/{code}").status_code == 404  # not paid
    pay(client, company["headers"], order["out_trade_no"])
    public = client.get(f"/api/v1/public/land-compensations/{code}")
    assert public.status_code == 200 and public.json["permit_number"] == PERMIT["permit_number"]
    assert public.json["credits"]["grams"] == 188_620_000 and len(public.json["credits"]["serials"]) == 189
    page = client.get(f"/land-compensations/{code}")
    assert page.status_code == 200 and PERMIT["permit_number"] in page.get_data(as_text=True)

    url = f"/api/v1/organisations/{company['organisation_id']}/land-compensations/{compensation['id']}/certificate.pdf"
    pdf = client.get(url, headers=company["headers"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "88" in text and f"/land-compensations/{code}" in text

    month = f"{beijing_time.today():%Y-%m}"
    rows = client.get("/api/v1/admin/payouts", query_string={"month": month}, headers=admin).json
    by_source = {row["source"]: row for row in rows}
    assert (
        by_source["state_share"]["net_fen"] == 628_670 and by_source["state_share"]["owner_kind"] == "state"
    )
    assert (
        by_source["credits"]["owner_name"] == "右玉县国有林场"
        and by_source["credits"]["net_fen"] == 1_257_530
    )
    assert by_source["credits"]["sold_g"] == 188_620_000 and by_source["state_share"]["sold_g"] == 0
    summary = client.get("/api/v1/admin/payouts/summary", query_string={"month": month}, headers=admin).json
    assert summary["net_fen"] == summary["payouts_fen"] == 1_886_200
    export = client.get("/api/v1/admin/payouts/export", query_string={"month": month}, headers=admin)
    assert "state_share" in export.get_data(as_text=True)
    assert audit_violations() == []


def test_refunds_give_back_the_state_share_to_the_fen(client, admin, company, project_id):
    placed = _create(client, company, project_id=project_id, **{**PERMIT, "occupied_area_m2": 1_001})
    order = placed.json["purchase"]["order"]
    state, amount = placed.json["compensation"]["state_fen"], order["amount_fen"]
    pay(client, company["headers"], order["out_trade_no"])
    number, month = order["out_trade_no"], f"{beijing_time.today():%Y-%m}"
    for grams in (3_000, 7_000, None):  # two odd parts, then the rest
        body = {"reason": "permit reduced"} | ({"grams": grams} if grams else {})
        refund = client.post(f"/api/v1/admin/orders/{number}/refunds", json=body, headers=admin)
        assert refund.status_code == 201, refund.json
        rows = client.get("/api/v1/admin/payouts", query_string={"month": month}, headers=admin).json
        summary = client.get(
            "/api/v1/admin/payouts/summary", query_string={"month": month}, headers=admin
        ).json
        assert sum(row["net_fen"] for row in rows) == summary["net_fen"] == summary["payouts_fen"]
        assert audit_violations() == []
    by_source = {row["source"]: row for row in rows}
    # Refunded whole: the state gave back exactly its part, the owner exactly theirs.
    assert by_source["state_share"]["refunded_fen"] == state and by_source["state_share"]["net_fen"] == 0
    assert by_source["credits"]["refunded_fen"] == amount - state and by_source["credits"]["net_fen"] == 0
    # Refunded, the permit may be compensated again.
    assert _create(client, company, project_id=project_id, **PERMIT).status_code == 201


def test_bank_transfer_and_the_listings(client, admin, company, project_id):
    placed = _create(client, company, project_id=project_id, payment="bank_transfer", **PERMIT)
    assert placed.status_code == 201, placed.json
    transfer = placed.json["purchase"]["bank_transfer"]
    assert transfer["amount_fen"] == 1_886_200
    confirmed = client.post(
        f"/api/v1/admin/orders/{transfer['reference']}/confirm-transfer",
        json={"reference": "ICBC-0001", "amount_fen": transfer["amount_fen"]},
        headers=admin,
    )
    assert confirmed.status_code == 200 and confirmed.json["order"]["status"] == "fulfilled"
    mine = client.get(
        f"/api/v1/organisations/{company['organisation_id']}/land-compensations", headers=company["headers"]
    )
    assert mine.status_code == 200 and mine.json[0]["order_status"] == "fulfilled"
    everything = client.get(
        "/api/v1/admin/land-compensations",
        query_string={"permit_number": PERMIT["permit_number"]},
        headers=admin,
    )
    assert len(everything.json) == 1
    assert client.get("/api/v1/admin/land-compensations", headers=company["headers"]).status_code == 403
    assert audit_violations() == []


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"occupied_area_m2": 0}, 422, "occupied_area_m2"),
        ({"occupied_area_m2": 100_000_001}, 422, "occupied_area_m2"),
        ({"occupied_area_m2": 12.5}, 422, "occupied_area_m2"),
        ({"permit_number": ""}, 422, "permit_number"),
        ({"permit_number": "x" * 65}, 422, "permit_number"),
        ({"payment": "cash"}, 422, "payment"),
        ({"business_project": "物流园\u0000"}, 422, "business_project"),  # before any order is placed
        ({"permit_authority": "x" * 201}, 422, "permit_authority"),
        ({"occupied_area_m2": "100"}, 422, "occupied_area_m2"),
        ({"project_id": -1}, 422, "project_id"),
        ({"project_id": 987_654}, 404, "project_id"),
        ({"occupied_area_m2": 100_000}, 409, "insufficient_credits"),  # 1,527.9 t: more than the pool
    ],
)
def test_bad_requests_are_refused_and_leave_nothing(client, company, project_id, change, status, field):
    body = {**PERMIT, "project_id": project_id, **change}
    response = _create(client, company, **body)
    assert response.status_code == status, response.json
    assert field in str(response.json)
    listed = client.get(
        f"/api/v1/organisations/{company['organisation_id']}/land-compensations", headers=company["headers"]
    )
    assert listed.json == []
    assert audit_violations() == []


def test_other_kinds_and_other_organisations_are_refused(client, admin, company):
    phcer, _ = stock_pool(tonnes=2, code="PH-1", kind="PHCER")
    refused = _create(client, company, project_id=phcer, **PERMIT)
    assert refused.status_code == 422 and "project_id" in refused.json["errors"]
    other = organiser(client, "other-code", "别的公司", admin_token=admin["Authorization"][7:])
    foreign = _create(
        client,
        {"headers": other["headers"], "organisation_id": company["organisation_id"]},
        project_id=phcer,
        **PERMIT,
    )
    assert foreign.status_code == 403


def test_the_audit_finds_a_compensation_that_is_not_its_order(client, company, project_id):
    placed = _create(client, company, project_id=project_id, **PERMIT)
    pay(client, company["headers"], placed.json["purchase"]["order"]["out_trade_no"])
    assert audit_violations() == []
    with unit_of_work() as session:
        # Parts that still add up to the fee (a CHECK holds that), but a fee that is not the order's.
        session.execute(
            update(LandCompensation).values(
                amount_fen=LandCompensation.amount_fen + 1, owner_fen=LandCompensation.owner_fen + 1
            )
        )
    assert any("compensation-order" in v for v in audit_violations())
