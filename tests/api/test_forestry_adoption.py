"""Tree adoption (认建认养, 捐资造林): plots, plantings and survival, adopting for a donation paid like
an order, certificates, points, refunds, and the rule that adopted trees are never credits."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from models import Adoption, Channel, ForestPlot, Order, PaymentEvent, User, utcnow
from models.database import unit_of_work
from payments.interface import PaymentNotification, TradeState
from services.kernel import beijing_time
from services.sales.order_policy import OrderPolicy
from services.settlement import payment_flow
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.events import organiser
from tests.support.forestry import add_plot, adopt, audit_violations, memorial_forest, pay
from tests.support.pool import stock_pool


@pytest.fixture
def admin(client):
    return bearer(login_admin(client)[0])


@pytest.fixture
def forest(client, admin):
    return memorial_forest(client, admin)


@pytest.fixture
def adopter(client):
    return bearer(login_user(client, "adopter-code")[0])


def _points(client, headers):
    return client.get("/api/v1/me/points", headers=headers).json


def test_a_person_adopts_trees_pays_and_gets_certificate_points_and_public_record(client, forest, adopter):
    plot = forest["plot"]
    placed = adopt(client, adopter, "adopt-1", plot_id=plot["id"], trees=3, holder_name="张三丰")
    assert placed.status_code == 201, placed.json
    adoption, order = placed.json["adoption"], placed.json["order"]
    # A donation order: the plot's price per tree, no grams from the pool, no credit lines.
    assert order["amount_fen"] == 3 * 3_000 and order["grams"] == 0 and order["lines"] == []
    assert order["channel"] == "adoption" and adoption["status"] == "pending"
    assert adoption["points"] == 3 * 10 and placed.json["request_payment"] is not None
    assert client.get(f"/api/v1/plots/{plot['id']}").json["trees_free"] == 7

    again = adopt(client, adopter, "adopt-1", plot_id=plot["id"], trees=3, holder_name="张三丰")
    assert again.status_code == 201 and again.json["adoption"]["id"] == adoption["id"]
    other = adopt(client, adopter, "adopt-1", plot_id=plot["id"], trees=4, holder_name="张三丰")
    assert other.status_code == 422 and "Idempotency-Key" in other.json["errors"]
    assert client.get(f"/api/v1/plots/{plot['id']}").json["trees_free"] == 7  # one adoption, not two

    code = adoption["public_code"]
    assert client.get(f"/api/v1/public/adoptions/{code}").status_code == 404  # not paid yet
    assert (
        client.get(f"/api/v1/adoptions/{adoption['id']}/certificate.pdf", headers=adopter).status_code == 409
    )

    assert pay(client, adopter, order["out_trade_no"])["status"] == "fulfilled"
    mine = client.get(f"/api/v1/adoptions/{adoption['id']}", headers=adopter).json
    assert mine["status"] == "active" and mine["certificate_number"].startswith("AD")
    assert _points(client, adopter)["pending"] == 30  # pending through the refund window, like a purchase
    # A donation sells no credits: no credit certificate, and the pool is untouched and balanced.
    assert client.get("/api/v1/me/certificates", headers=adopter).json == []
    assert audit_violations() == []

    public = client.get(f"/api/v1/public/adoptions/{code}")
    assert public.status_code == 200 and public.json["valid"] is True
    assert public.json["holder"] == "张*丰" and "张三丰" not in public.get_data(as_text=True)
    assert public.json["species"] == ["侧柏", "油松"] and public.json["forest_name"] == "广德碳汇林纪念基地"
    assert "不作为碳信用出售" in public.json["statement"]
    page = client.get(f"/adoptions/{code}")
    assert (
        page.status_code == 200
        and "张*丰" in page.get_data(as_text=True)
        and "张三丰" not in page.get_data(as_text=True)
    )
    assert client.get("/adoptions/NOSUCHCODE").status_code == 404

    pdf = client.get(f"/api/v1/adoptions/{adoption['id']}/certificate.pdf", headers=adopter)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert mine["certificate_number"] in text and "A-01" in text and f"/adoptions/{code}" in text
    # The forest, its owner, the plot's species and the adopter, in full on the adopter's own copy.
    for said in ("广德碳汇林纪念基地", "誓节镇村集体", "侧柏", "油松", "张三丰", "3 株"):
        assert said in text, said
    # Someone else reads neither the adoption nor its certificate.
    stranger = bearer(login_user(client, "stranger-code")[0])
    assert client.get(f"/api/v1/adoptions/{adoption['id']}", headers=stranger).status_code == 404
    assert (
        client.get(f"/api/v1/adoptions/{adoption['id']}/certificate.pdf", headers=stranger).status_code == 404
    )


def test_free_trees_are_shared_out_once_and_a_whole_plot_needs_all_of_them(client, forest, adopter):
    plot_id = forest["plot"]["id"]
    first = adopt(client, adopter, plot_id=plot_id, trees=8)
    assert first.status_code == 201
    other = bearer(login_user(client, "second-adopter")[0])
    too_many = adopt(client, other, plot_id=plot_id, trees=3)
    assert too_many.status_code == 409 and too_many.json["errors"] == {"trees": ["at most 2"]}
    whole = adopt(client, other, plot_id=plot_id, whole_plot=True)
    assert whole.status_code == 409 and "whole_plot" in whole.json["errors"]
    # The first adopter gives up before paying: the trees are free again.
    cancel = client.post(f"/api/v1/orders/{first.json['order']['out_trade_no']}/cancel", headers=adopter)
    assert cancel.status_code == 200
    assert (
        client.get(f"/api/v1/adoptions/{first.json['adoption']['id']}", headers=adopter).json["status"]
        == "lapsed"
    )
    whole = adopt(client, other, plot_id=plot_id, whole_plot=True)
    assert whole.status_code == 201, whole.json
    assert whole.json["adoption"]["trees"] == 10 and whole.json["order"]["amount_fen"] == 30_000
    assert client.get(f"/api/v1/plots/{plot_id}").json["adoptable"] is False


def test_a_plot_sold_as_credits_is_never_adopted_and_an_adopted_plot_never_enrolled(
    client, admin, forest, adopter
):
    project_id, _ = stock_pool(tonnes=1)
    enrolled = add_plot(client, admin, forest["forest"]["id"], code="CR-1", credit_project_id=project_id)
    assert enrolled["adoptable"] is False and enrolled["trees_free"] == 0
    refused = adopt(client, adopter, plot_id=enrolled["id"], trees=1)
    assert refused.status_code == 409 and "plot_id" in refused.json["errors"]

    plot_id = forest["plot"]["id"]
    placed = adopt(client, adopter, plot_id=plot_id, trees=2)
    pay(client, adopter, placed.json["order"]["out_trade_no"])
    enrol = client.put(
        f"/api/v1/admin/plots/{plot_id}/credit-project", json={"credit_project_id": project_id}, headers=admin
    )
    assert enrol.status_code == 409 and "credit_project_id" in enrol.json["errors"]
    assert audit_violations() == []

    # Written past the service, the double count is caught by the pool audit ...
    with unit_of_work() as session:
        session.execute(
            update(ForestPlot).where(ForestPlot.id == plot_id).values(credit_project_id=project_id)
        )
    assert any("adoption-credit" in v for v in audit_violations())
    # ... and a donation order that would take grams is refused by the database itself.
    with pytest.raises(IntegrityError), unit_of_work() as session:
        user_id = session.scalar(select(User.id).limit(1))
        session.add(
            Order(
                out_trade_no="CO-DONATION-GRAMS",
                user_id=user_id,
                channel=Channel.ADOPTION,
                grams=1_000,
                amount_fen=100,
                provider="sandbox",
                expires_at=utcnow(),
            )
        )


def test_a_refunded_donation_voids_the_adoption_and_takes_its_points_back(client, admin, forest, adopter):
    placed = adopt(client, adopter, plot_id=forest["plot"]["id"], trees=2, holder_name="李四")
    number = placed.json["order"]["out_trade_no"]
    pay(client, adopter, number)
    partial = client.post(f"/api/v1/orders/{number}/refunds", json={"grams": 1}, headers=adopter)
    assert partial.status_code == 422 and "grams" in partial.json["errors"]
    refunded = client.post(f"/api/v1/orders/{number}/refunds", json={}, headers=adopter)
    assert refunded.status_code == 201, refunded.json
    assert refunded.json["amount_fen"] == 6_000 and refunded.json["grams"] == 0
    order = client.get(f"/api/v1/orders/{number}", headers=adopter).json
    assert order["status"] == "refunded" and order["refunded_fen"] == 6_000
    adoption = client.get(f"/api/v1/adoptions/{placed.json['adoption']['id']}", headers=adopter).json
    assert adoption["status"] == "refunded"
    assert _points(client, adopter)["pending"] == 0
    public = client.get(f"/api/v1/public/adoptions/{adoption['public_code']}").json
    assert public["valid"] is False and public["status"] == "refunded"
    assert client.get(f"/api/v1/plots/{forest['plot']['id']}").json["trees_free"] == 10
    # The donation and its refund are the forest owner's, and the month's payouts add up to its net.
    month = f"{beijing_time.today():%Y-%m}"
    rows = client.get("/api/v1/admin/payouts", query_string={"month": month}, headers=admin).json
    (donations,) = [row for row in rows if row["source"] == "donations"]
    assert donations["owner_id"] == forest["owner_id"] and donations["forest_name"] == "广德碳汇林纪念基地"
    assert (donations["sales_fen"], donations["refunded_fen"], donations["net_fen"]) == (6_000, 6_000, 0)
    summary = client.get("/api/v1/admin/payouts/summary", query_string={"month": month}, headers=admin).json
    assert summary["sales_fen"] == 6_000 and summary["net_fen"] == summary["payouts_fen"] == 0
    assert audit_violations() == []


def test_donations_are_paid_out_to_the_forest_owner_beside_credit_sales(client, admin, forest, adopter):
    stock_pool(tonnes=1)
    buyer = bearer(login_user(client, "credit-buyer")[0])
    placed = client.post("/api/v1/orders", json={"product": "one_yuan", "units": 3}, headers=buyer)
    pay(client, buyer, placed.json["order"]["out_trade_no"])
    donation = adopt(client, adopter, plot_id=forest["plot"]["id"], trees=4)
    pay(client, adopter, donation.json["order"]["out_trade_no"])
    month = f"{beijing_time.today():%Y-%m}"
    rows = client.get(
        "/api/v1/admin/payouts", query_string={"month": month, "group": "owner"}, headers=admin
    ).json
    by_source = {row["source"]: row for row in rows}
    assert by_source["donations"]["net_fen"] == 12_000 and by_source["donations"]["sold_g"] == 0
    assert by_source["credits"]["net_fen"] == 300
    summary = client.get("/api/v1/admin/payouts/summary", query_string={"month": month}, headers=admin).json
    assert summary["net_fen"] == summary["payouts_fen"] == 12_300 and summary["owners"] == 2


def test_a_donation_paid_after_its_window_goes_back(client, forest, adopter):
    placed = adopt(client, adopter, plot_id=forest["plot"]["id"], trees=1)
    number = placed.json["order"]["out_trade_no"]
    with unit_of_work() as session:
        session.execute(
            update(Order)
            .where(Order.out_trade_no == number)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    assert client.get(f"/api/v1/orders/{number}", headers=adopter).json["status"] == "expired"
    late = PaymentNotification(
        out_trade_no=number,
        transaction_id="4200000000000000000099",
        trade_state=TradeState.SUCCESS,
        amount_fen=3_000,
        appid="",
        mchid="",
        payer_openid="",
        success_time=utcnow(),
        raw={},
    )
    outcome = payment_flow.handle_payment_notification(late, "sandbox", OrderPolicy())
    assert outcome.outcome == "refund_started"
    with unit_of_work() as session:
        assert session.scalar(select(PaymentEvent.outcome).where(PaymentEvent.order_id == outcome.order_id))
    adoption = client.get(f"/api/v1/adoptions/{placed.json['adoption']['id']}", headers=adopter).json
    assert adoption["status"] == "lapsed" and adoption["certificate_number"] is None


def test_an_organisation_adopts_by_bank_transfer_and_earns_the_points(client, admin, forest):
    company = organiser(client, "company-code", "广德某公司", admin_token=admin["Authorization"][7:])
    body = {"plot_id": forest["plot"]["id"], "trees": 5, "organisation_id": company["organisation_id"]}
    placed = adopt(client, company["headers"], payment="bank_transfer", **body)
    assert placed.status_code == 201, placed.json
    transfer = placed.json["bank_transfer"]
    assert transfer["amount_fen"] == 15_000 and placed.json["request_payment"] is None
    assert placed.json["adoption"]["holder_name"] == "广德某公司"
    confirmed = client.post(
        f"/api/v1/admin/orders/{transfer['reference']}/confirm-transfer",
        json={"reference": "BANK-778", "amount_fen": 15_000},
        headers=company["admin"],
    )
    assert confirmed.status_code == 200, confirmed.json
    listed = client.get(
        f"/api/v1/organisations/{company['organisation_id']}/adoptions", headers=company["headers"]
    )
    assert listed.json[0]["status"] == "active"
    points = client.get(
        f"/api/v1/organisations/{company['organisation_id']}/points", headers=company["headers"]
    ).json
    assert points["pending"] == 50
    person = bearer(login_user(client, "person-code")[0])
    refused = adopt(client, person, plot_id=forest["plot"]["id"], trees=1, payment="bank_transfer")
    assert refused.status_code == 422 and "payment" in refused.json["errors"]
    foreign = adopt(
        client, person, plot_id=forest["plot"]["id"], trees=1, organisation_id=company["organisation_id"]
    )
    assert foreign.status_code == 403


def test_plantings_and_survival_checks_give_the_survival_rate(client, admin, forest, adopter):
    plot_id = forest["plot"]["id"]
    today = beijing_time.today()
    planted = client.post(
        f"/api/v1/admin/plots/{plot_id}/plantings",
        json={
            "species": "侧柏",
            "trees": 120,
            "area_m2": 3_000,
            "planted_on": (today - timedelta(days=90)).isoformat(),
        },
        headers=admin,
    )
    assert planted.status_code == 201, planted.json
    planting_id = planted.json["id"]
    check = {"checked_on": (today - timedelta(days=1)).isoformat(), "surviving": 111, "notes": "春季补植前"}
    url = f"/api/v1/admin/plantings/{planting_id}/survival-checks"
    assert client.post(url, json=check, headers=admin).status_code == 201
    assert client.post(url, json=check, headers=admin).status_code == 409  # one check a day
    rows = client.get(f"/api/v1/plots/{plot_id}/plantings").json
    assert rows[0]["survival_rate"] == "92.5" and rows[0]["surviving"] == 111
    assert client.get(url, headers=admin).json[0]["surviving"] == 111

    placed = adopt(client, adopter, plot_id=plot_id, trees=1)
    pay(client, adopter, placed.json["order"]["out_trade_no"])
    public = client.get(f"/api/v1/public/adoptions/{placed.json['adoption']['public_code']}").json
    assert public["plantings"][0]["survival_rate"] == "92.5"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"trees": 0}, 422, "trees"),
        ({"trees": 2.5}, 422, "trees"),
        ({}, 422, "trees"),
        ({"trees": 1, "holder_name": "x" * 65}, 422, "holder_name"),
        ({"trees": 1, "holder_name": "张\u0000三"}, 422, "holder_name"),  # PostgreSQL stores no NUL
        ({"trees": -1}, 422, "trees"),
        ({"trees": "1"}, 422, "trees"),
        ({"trees": 1, "colour": "green"}, 422, "colour"),
        ({"trees": 1, "payment": "cash"}, 422, "payment"),
    ],
)
def test_bad_adoptions_are_refused_with_the_field_named(client, forest, adopter, body, status, field):
    response = adopt(client, adopter, plot_id=forest["plot"]["id"], **body)
    assert response.status_code == status, response.json
    assert field in str(response.json)


def test_bad_plots_plantings_and_checks_are_refused(client, admin, forest, adopter):
    plot_id, forest_id = forest["plot"]["id"], forest["forest"]["id"]
    assert adopt(client, adopter, plot_id=999_999, trees=1).status_code == 404
    no_openid = adopt(client, admin, plot_id=plot_id, trees=1)  # an admin account cannot pay by WeChat
    assert no_openid.status_code == 422 and "user" in no_openid.json["errors"]
    base = {"code": "C-1", "area_m2": 10, "species": ["侧柏"], "tree_capacity": 1, "donation_fen_per_tree": 1}
    url = f"/api/v1/admin/forests/{forest_id}/plots"
    assert client.post(url, json={**base, "species": ["侧柏", "侧柏"]}, headers=admin).status_code == 422
    assert client.post(url, json={**base, "species": []}, headers=admin).status_code == 422
    assert client.post(url, json={**base, "code": "A-01"}, headers=admin).status_code == 409
    assert client.post(url, json={**base, "credit_project_id": 987_654}, headers=admin).status_code == 404
    assert client.post(url, json={**base, "area_m2": 0}, headers=admin).status_code == 422
    today = beijing_time.today()
    plant = f"/api/v1/admin/plots/{plot_id}/plantings"
    good = {"species": "油松", "trees": 10, "area_m2": 100, "planted_on": today.isoformat()}
    assert client.post(plant, json={**good, "species": "杨树"}, headers=admin).status_code == 422
    assert client.post(plant, json={**good, "area_m2": 6_671}, headers=admin).status_code == 422
    future = (today + timedelta(days=2)).isoformat()
    assert client.post(plant, json={**good, "planted_on": future}, headers=admin).status_code == 422
    planting = client.post(plant, json=good, headers=admin).json
    checks = f"/api/v1/admin/plantings/{planting['id']}/survival-checks"
    assert (
        client.post(
            checks, json={"checked_on": today.isoformat(), "surviving": 11}, headers=admin
        ).status_code
        == 422
    )
    before = (today - timedelta(days=1)).isoformat()
    assert client.post(checks, json={"checked_on": before, "surviving": 5}, headers=admin).status_code == 422
    owner_missing = {"code": "X", "name": "n", "place": "p", "owner_id": 424_242}
    assert client.post("/api/v1/admin/forests", json=owner_missing, headers=admin).status_code == 404
    taken = {"code": "GD-MEMORIAL", "name": "n", "place": "p", "owner_id": forest["owner_id"]}
    assert client.post("/api/v1/admin/forests", json=taken, headers=admin).status_code == 409
    user = bearer(login_user(client, "not-admin")[0])
    assert client.post(plant, json=good, headers=user).status_code == 403
    control = {"code": "Y", "name": "林\u0000", "place": "p", "owner_id": forest["owner_id"]}
    refused = client.post("/api/v1/admin/forests", json=control, headers=admin)
    assert refused.status_code == 422 and "name" in refused.json["errors"]["json"]
    noted = {"checked_on": today.isoformat(), "surviving": 5, "notes": "第一行\n第二行\u0007"}
    refused = client.post(checks, json=noted, headers=admin)
    assert refused.status_code == 422 and "notes" in refused.json["errors"]["json"]
    noted["notes"] = "第一行\n第二行"  # line breaks are text
    assert client.post(checks, json=noted, headers=admin).status_code == 201


def test_forests_and_plots_are_listed_by_page(client, admin, forest):
    for index in range(3):
        add_plot(client, admin, forest["forest"]["id"], code=f"P-{index}")
    listed = client.get(f"/api/v1/forests/{forest['forest']['id']}/plots", query_string={"page_size": 2})
    assert listed.status_code == 200 and len(listed.json) == 2
    assert '"total": 4' in listed.headers["X-Pagination"]
    assert client.get("/api/v1/forests").json[0]["owner"] == "誓节镇村集体"
    assert client.get("/api/v1/forests/424242").status_code == 404
    assert client.get("/api/v1/forests/1/plots", query_string={"page_size": 1000}).status_code == 422


def test_the_audit_finds_an_adoption_that_is_not_its_order_and_a_plot_adopted_beyond_its_trees(
    client, forest, adopter
):
    plot_id = forest["plot"]["id"]
    placed = adopt(client, adopter, plot_id=plot_id, trees=6)
    pay(client, adopter, placed.json["order"]["out_trade_no"])
    assert audit_violations() == []

    with unit_of_work() as session:
        session.execute(update(Adoption).values(donation_fen=Adoption.donation_fen + 1))
    assert any("adoption-order" in v for v in audit_violations())
    with unit_of_work() as session:
        session.execute(update(Adoption).values(donation_fen=Adoption.donation_fen - 1))
        session.execute(update(ForestPlot).where(ForestPlot.id == plot_id).values(tree_capacity=5))
    found = audit_violations()
    assert any("adoption-trees" in v for v in found) and not any("adoption-order" in v for v in found)
