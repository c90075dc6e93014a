"""Every kind of certificate PDF, through its own route, in the one frame: the code on it decodes back
to the kind's human verification page, the project's owner and place are printed, the serials as
ranges with their registry retirement, and a voided certificate says so.

Without WeChat credentials the code is a QR code of the web page; with them (the fake WeChat API,
`tests/fakes/wechat_api.py`) a mini-program code whose decoded page and scene open the record.
"""

from __future__ import annotations

import re

import pytest
from flask import current_app

from models import OwnerKind, Project
from models.database import unit_of_work
from services.kernel import beijing_time
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.events import account_venue_electricity, create_event, offset_and_pay, organiser, publish
from tests.support.factors import publish_library
from tests.support.forestry import adopt, memorial_forest, pay
from tests.support.pdfs import flat, page_codes, page_texts
from tests.support.pool import stock_pool
from tests.support.sales import add_batch, buy, offset_footprint

HOLDER = "张三丰"
PAGE = "pages/certificate/index"
REGISTRY_REF = "FJ-ZX-2026-0042"
PLACE = "福建省三明市沙县区"


def base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def pdf_of(client, path: str, headers: dict[str, str]) -> bytes:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.content_type == "application/pdf" and response.data.startswith(b"%PDF")
    return response.data


def assert_opens(client, pdf: bytes, url: str) -> None:
    """The code on every page decodes to `url`, which answers a human page."""
    assert page_codes(pdf) == [[url]] * len(page_codes(pdf))
    page = client.get(url.removeprefix(base_url()))
    assert page.status_code == 200 and page.content_type.startswith("text/html")


def a_village_project(tonnes: int = 0) -> int:
    """A project of a village collective, in a named place and registry; gives its id."""
    project_id, _ = stock_pool(tonnes=tonnes, owner="洋坑村股份经济合作社")
    with unit_of_work() as session:
        project = session.get(Project, project_id)
        project.owner.kind = OwnerKind.VILLAGE_COLLECTIVE
        project.location = PLACE
        project.registry_name = "海峡资源环境交易中心"
    return project_id


def confirm_retirement(client, admin) -> None:
    """Retire at the registry the fully sold FFCER tonnes."""
    drafted = client.post("/api/v1/admin/retirements", json={"kind": "FFCER"}, headers=admin)
    assert drafted.status_code == 201, drafted.json
    url = f"/api/v1/admin/retirements/{drafted.json['id']}"
    assert client.post(f"{url}/submit", json={"submission_ref": "SQ-1"}, headers=admin).status_code == 200
    confirmed = client.post(
        f"{url}/confirm",
        json={
            "registry_ref": REGISTRY_REF,
            "registry_url": "https://registry.example.cn/retirements/0042",
            "retired_on": beijing_time.today().isoformat(),
        },
        headers=admin,
    )
    assert confirmed.status_code == 200, confirmed.json


def my_certificate(client, headers) -> dict:
    (certificate,) = client.get("/api/v1/me/certificates", headers=headers).json
    return certificate


class TestPersonal:
    def test_the_holder_project_owner_place_and_serial_ranges_with_their_retirement(self, client):
        admin = bearer(login_admin(client)[0])
        project_id = a_village_project()
        add_batch(project_id, 3)
        buyer = bearer(login_user(client, "pdf-buyer")[0])
        buy(client, buyer, 150, holder_name=HOLDER)  # 1.5 t: tonne 0 whole, half of tonne 1
        confirm_retirement(client, admin)  # tonne 0, the one fully sold
        certificate = my_certificate(client, buyer)

        pdf = pdf_of(client, f"/api/v1/me/certificates/{certificate['number']}/pdf", buyer)

        (text,) = page_texts(pdf)
        words = flat(text)
        assert f"持有人 Holder {HOLDER}" in words and "认购量 Amount 1.500 t CO2e" in words
        assert "相当于全国电网 2,827 度电的碳排放" in words and "0.5306 kgCO2/kWh" in words
        assert "洋坑村股份经济合作社（村集体 village collective）" in words and PLACE in words
        assert "海峡资源环境交易中心" in words and "FFCER · 2017 年度 vintage" in words
        serials = sorted(claim["serial"] for claim in certificate["claims"])
        assert f"{serials[0]} 1.000 t 已注销 retired {beijing_time.today():%Y-%m-%d} {REGISTRY_REF}" in words
        assert f"{serials[1]} g 0–499,999 500.0 kg 待注销 pending" in words
        assert "2 个登记序列号已注销 1 个 1 of 2 serials retired" in words
        assert_opens(client, pdf, f"{base_url()}/verify/{certificate['verification_code']}")

    def test_consecutive_tonnes_print_as_one_range(self, client):
        project_id = a_village_project()
        add_batch(project_id, 12)
        buyer = bearer(login_user(client, "range-buyer")[0])
        buy(client, buyer, 1_000, holder_name=HOLDER)  # 10 t: ten consecutive serials of one batch
        certificate = my_certificate(client, buyer)

        pdf = pdf_of(client, f"/api/v1/me/certificates/{certificate['number']}/pdf", buyer)

        serials = sorted(claim["serial"] for claim in certificate["claims"])
        assert len(serials) == 10
        first, last = serials[0], serials[-1]
        last_number = re.search(r"\d+$", last).group()  # the range prints the last one's number only
        assert f"{first}–{last_number} 10 个 serials · 10.000 t" in flat(page_texts(pdf)[0])

    def test_a_refunded_certificate_is_void_on_its_pdf(self, client):
        stock_pool(tonnes=2)
        buyer = bearer(login_user(client, "void-buyer")[0])
        number = buy(client, buyer, 3, holder_name=HOLDER)
        refunded = client.post(f"/api/v1/orders/{number}/refunds", json={}, headers=buyer)
        assert refunded.status_code == 201, refunded.json
        certificate = my_certificate(client, buyer)
        assert certificate["status"] == "void"

        pdf = pdf_of(client, f"/api/v1/me/certificates/{certificate['number']}/pdf", buyer)

        assert all("已作废 VOID" in text for text in page_texts(pdf))
        assert_opens(client, pdf, f"{base_url()}/verify/{certificate['verification_code']}")

    def test_a_one_tap_offset_has_its_own_title_and_code(self, client):
        stock_pool(tonnes=2)
        token, _ = login_user(client, "pdf-offsetter")
        publish_library()
        offset_footprint(client, bearer(token), "陈小林")
        certificate = my_certificate(client, bearer(token))

        pdf = pdf_of(client, f"/api/v1/me/certificates/{certificate['number']}/pdf", bearer(token))

        words = flat(page_texts(pdf)[0])
        assert "碳足迹抵消证书" in words and "持有人 Holder 陈小林" in words and "抵消量 Offset" in words
        assert_opens(client, pdf, f"{base_url()}/verify/{certificate['verification_code']}")


class TestOrganisationKinds:
    def test_an_event_certificate_opens_its_disclosure(self, client):
        publish_library()
        project_id = a_village_project(tonnes=3)
        org = organiser(client, "pdf-organiser", "海峡会展中心")
        event = create_event(client, org)
        url = f"/api/v1/events/{event['id']}"
        account_venue_electricity(client, org, event["id"])
        offset_and_pay(client, org, event["id"], project_id)
        code = publish(client, org, event["id"])

        pdf = pdf_of(client, f"{url}/certificate.pdf", org["headers"])

        words = flat("\n".join(page_texts(pdf)))
        assert "大型活动碳中和证书" in words and "主办 Organiser 海峡会展中心" in words
        assert "场馆用电" in words and "1,000 kWh ×" in words and "kg CO2e/kWh" in words
        assert "洋坑村股份经济合作社（村集体 village collective）" in words and PLACE in words
        assert_opens(client, pdf, f"{base_url()}/events/{code}/disclosure")

    def test_an_institutional_claim_certificate_opens_its_public_record(self, client):
        publish_library()
        project_id = a_village_project(tonnes=3)
        court = organiser(client, "pdf-court", "顺昌县人民法院")
        made = client.post(
            f"/api/v1/organisations/{court['organisation_id']}/institutional-claims",
            json={
                "project_id": project_id,
                "kind": "ecological_justice",
                "tonnes_required": "1",
                "case_number": "(2026)闽0721刑初99号",
                "court": "顺昌县人民法院",
                "defendant_name": "李四光",
            },
            headers=court["headers"],
        ).json
        number = made["purchase"]["order"]["out_trade_no"]
        assert (
            client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=court["headers"]).status_code == 200
        )
        claim = made["claim"]

        pdf = pdf_of(
            client,
            f"/api/v1/organisations/{court['organisation_id']}/institutional-claims/{claim['id']}/certificate.pdf",
            court["headers"],
        )

        words = flat("\n".join(page_texts(pdf)))
        assert "单位 Organisation 顺昌县人民法院" in words and "所需 Required 1.000 t CO2e" in words
        assert PLACE in words and "待注销 pending" in words
        assert_opens(client, pdf, f"{base_url()}/claims/{claim['public_code']}")

    def test_an_adoption_certificate_opens_its_public_record(self, client):
        admin = bearer(login_admin(client)[0])
        forest = memorial_forest(client, admin)
        adopter = bearer(login_user(client, "pdf-adopter")[0])
        placed = adopt(client, adopter, plot_id=forest["plot"]["id"], trees=3, holder_name=HOLDER)
        assert placed.status_code == 201, placed.json
        pay(client, adopter, placed.json["order"]["out_trade_no"])
        adoption = placed.json["adoption"]

        pdf = pdf_of(client, f"/api/v1/adoptions/{adoption['id']}/certificate.pdf", adopter)

        words = flat(page_texts(pdf)[0])
        assert f"认养人 Adopter {HOLDER}" in words and "广德碳汇林纪念基地（安徽省广德市）" in words
        assert "林地所有者 Owner 誓节镇村集体" in words and "侧柏、油松" in words
        assert_opens(client, pdf, f"{base_url()}/adoptions/{adoption['public_code']}")


@pytest.fixture
def app_overrides(request):
    """Mini-program mode for the tests that take `wechat_api`; the default settings for the rest."""
    if "wechat_api" not in request.fixturenames:
        return {}
    fake = request.getfixturevalue("wechat_api")
    fake.released_pages.add(PAGE)
    return fake.settings(WECHAT_SANDBOX_LOGIN=True)


def test_with_wechat_credentials_the_pdf_carries_the_mini_program_code(client, wechat_api):
    stock_pool(tonnes=2)
    buyer = bearer(login_user(client, "wxacode-buyer")[0])
    buy(client, buyer, 3, holder_name=HOLDER)
    certificate = my_certificate(client, buyer)

    pdf = pdf_of(client, f"/api/v1/me/certificates/{certificate['number']}/pdf", buyer)

    assert page_codes(pdf) == [[f"page={PAGE}&scene={certificate['verification_code']}"]]
    text = flat(page_texts(pdf)[0])
    assert "微信扫码" in text and f"/verify/{certificate['verification_code']}" in text
    assert wechat_api.count("/wxa/getwxacodeunlimit") == 1
