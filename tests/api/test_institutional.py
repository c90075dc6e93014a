"""Institutional purchases: ecological-justice restoration, tree-planting duty, annual neutralisation."""

import io

import pytest
from pypdf import PdfReader

from tests.support.events import organiser
from tests.support.pool import stock_pool


@pytest.fixture
def court(client):
    return organiser(client, "procurator-code", "顺昌县人民检察院")


def _claim(client, who, **body):
    return client.post(
        f"/api/v1/organisations/{who['organisation_id']}/institutional-claims",
        json=body,
        headers=who["headers"],
    )


def test_ecological_justice_claim_masks_the_defendant_in_public(client, court):
    project_id, _ = stock_pool(tonnes=3)
    placed = _claim(
        client,
        court,
        kind="ecological_justice",
        tonnes_required="1.5",
        project_id=project_id,
        case_number="(2026)闽0721刑初88号",
        court="顺昌县人民法院",
        defendant_name="张三丰",
    )
    assert placed.status_code == 201, placed.json
    claim = placed.json["claim"]
    order = placed.json["purchase"]["order"]
    assert claim["grams_required"] == 1_500_000 and order["grams"] == 1_500_000
    assert order["channel"] == "institutional" and claim["out_trade_no"] == order["out_trade_no"]
    assert "张三丰" in claim["certificate_statement"]  # the organisation's own record keeps the name

    # Before it is paid the public sees nothing of it, under its code or its id.
    for key in (claim["public_code"], claim["id"]):
        assert client.get(f"/api/v1/public/institutional-claims/{key}").status_code == 404

    paid = client.post(f"/api/v1/sandbox/orders/{order['out_trade_no']}/pay", headers=court["headers"])
    assert paid.status_code == 200 and paid.json["status"] == "fulfilled"

    public = client.get(f"/api/v1/public/institutional-claims/{claim['public_code']}")
    assert public.status_code == 200
    body = public.json
    assert body["defendant"] == "张*丰" and "张三丰" not in public.get_data(as_text=True)
    assert "张*丰" in body["certificate_statement"] and "1.5 吨" in body["certificate_statement"]
    assert body["case_number"] == "(2026)闽0721刑初88号" and body["order_status"] == "fulfilled"
    assert body["credits"]["grams"] == 1_500_000
    assert {s["retirement"] for s in body["credits"]["serials"]} == {"pending"}

    pdf_url = (
        f"/api/v1/organisations/{court['organisation_id']}/institutional-claims/{claim['id']}/certificate.pdf"
    )
    pdf = client.get(pdf_url, headers=court["headers"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert f"/claims/{claim['public_code']}" in text  # the printed link opens the human page
    assert client.get(pdf_url).status_code == 401

    page = client.get(f"/claims/{claim['public_code']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    assert "张*丰" in html and "张三丰" not in html and "(2026)闽0721刑初88号" in html
    assert body["credits"]["serials"][0]["serial"] in html and 'name="viewport"' in html
    assert client.get("/claims/UNKNOWN-CODE").status_code == 404


def test_each_kind_requires_its_own_fields(client, court):
    project_id, _ = stock_pool(tonnes=1)
    missing = _claim(client, court, kind="ecological_justice", tonnes_required="1", project_id=project_id)
    assert missing.status_code == 422
    assert set(missing.json["errors"]) == {"case_number", "court", "defendant_name"}
    annual = _claim(client, court, kind="annual_neutralisation", tonnes_required="1", project_id=project_id)
    assert annual.status_code == 422 and "year" in annual.json["errors"]


def test_tree_planting_states_tonnes_not_trees(client, court):
    project_id, _ = stock_pool(tonnes=1)
    placed = _claim(client, court, kind="tree_planting", tonnes_required="0.2", project_id=project_id)
    assert placed.status_code == 201, placed.json
    statement = placed.json["claim"]["certificate_statement"]
    assert "0.2 吨二氧化碳当量" in statement and "棵" not in statement


def test_a_kind_outside_the_allowed_kinds_and_other_organisations_are_refused(client, court):
    project_id, _ = stock_pool(tonnes=1, code="PH-1", kind="PHCER")
    refused = _claim(client, court, kind="tree_planting", tonnes_required="0.2", project_id=project_id)
    assert refused.status_code == 422 and "project_id" in refused.json["errors"]
    other = organiser(client, "other-code", "别的单位", admin_token=court["admin"]["Authorization"][7:])
    foreign = _claim(
        client,
        {"headers": other["headers"], "organisation_id": court["organisation_id"]},
        kind="tree_planting",
        tonnes_required="0.2",
        project_id=project_id,
    )
    assert foreign.status_code == 403
    listed = client.get(
        f"/api/v1/organisations/{court['organisation_id']}/institutional-claims", headers=court["headers"]
    )
    assert listed.status_code == 200 and listed.json == []
