"""Points, tiers and rankings follow the buyer of record: an organisation's purchase earns the
organisation (or nobody, by setting), never the member who placed it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from models import Order, OrganisationPointsEntry, utcnow
from models.database import unit_of_work
from services.kernel.redis_store import get_redis
from services.points import points
from tests.api.test_events import _accounted
from tests.support.accounts import bearer, login_user
from tests.support.events import organiser
from tests.support.factors import publish_library
from tests.support.pool import stock_pool

TONNES = 5  # 5,000 kg: 5,000 points at 1 point per kg, the 深绿 threshold


@pytest.fixture
def court(client):
    return organiser(client, "procurator-code", "顺昌县人民检察院")


def _claim(client, who, payment: str = "wechat") -> dict:
    project_id, _ = stock_pool(tonnes=TONNES + 1)
    placed = client.post(
        f"/api/v1/organisations/{who['organisation_id']}/institutional-claims",
        json={
            "kind": "tree_planting",
            "tonnes_required": str(TONNES),
            "project_id": project_id,
            "payment": payment,
        },
        headers=who["headers"],
    )
    assert placed.status_code == 201, placed.json
    return placed.json["purchase"]["order"]


def _pay_by_wechat(client, who, order: dict) -> None:
    paid = client.post(f"/api/v1/sandbox/orders/{order['out_trade_no']}/pay", headers=who["headers"])
    assert paid.status_code == 200 and paid.json["status"] == "fulfilled", paid.json


def _pay_by_transfer(client, who, order: dict) -> None:
    done = client.post(
        f"/api/v1/admin/orders/{order['out_trade_no']}/confirm-transfer",
        json={"reference": "ICBC-1", "amount_fen": order["amount_fen"]},
        headers=who["admin"],
    )
    assert done.status_code == 200 and done.json["outcome"] == "fulfilled", done.json


def _claim_by_wechat(client, who) -> dict:
    order = _claim(client, who)
    _pay_by_wechat(client, who, order)
    return order


def _claim_by_transfer(client, who) -> dict:
    order = _claim(client, who, "bank_transfer")
    _pay_by_transfer(client, who, order)
    return order


def _event_offset(client, who) -> dict:
    publish_library()
    project_id, _ = stock_pool(tonnes=10)
    _, url = _accounted(client, who)
    placed = client.post(f"{url}/offset", json={"project_id": project_id}, headers=who["headers"])
    assert placed.status_code == 201, placed.json
    order = placed.json["order"]
    _pay_by_wechat(client, who, order)
    return order


def _member_has_nothing(client, who) -> None:
    headers = who["headers"]
    assert client.get("/api/v1/me/points", headers=headers).json == {
        "balance": 0,
        "pending": 0,
        "lifetime_earned": 0,
    }
    tier = client.get("/api/v1/me/tier", headers=headers).json
    assert (tier["tier"], tier["lifetime_earned"], tier["pending"]) == (None, 0, 0)
    assert client.get("/api/v1/me/points/history", headers=headers).json == []
    for _ in range(2):  # the boards as incremented, then as rebuilt from the database
        ranking = client.get(
            "/api/v1/rankings", query_string={"board": "offsets", "period": "all"}, headers=headers
        )
        assert ranking.status_code == 200 and ranking.json == []
        mine = client.get(
            "/api/v1/me/rank", query_string={"board": "offsets", "period": "all"}, headers=headers
        )
        assert (mine.json["rank"], mine.json["score_g"]) == (None, 0)
        get_redis().flushdb()


def _organisation_points(client, who, headers=None):
    return client.get(
        f"/api/v1/organisations/{who['organisation_id']}/points", headers=headers or who["headers"]
    )


@pytest.mark.parametrize("purchase", [_claim_by_wechat, _claim_by_transfer, _event_offset])
def test_an_organisations_purchase_earns_the_organisation_not_the_member(client, court, purchase):
    order = purchase(client, court)
    assert order["organisation_id"] == court["organisation_id"]
    expected = order["grams"] // 1_000

    _member_has_nothing(client, court)
    summary = _organisation_points(client, court)
    assert summary.status_code == 200, summary.json
    # Inside the refund window the points are pending and lift no tier yet.
    assert (summary.json["settled"], summary.json["pending"]) == (0, expected)
    assert summary.json["tier"]["tier"] is None and summary.json["tier"]["lifetime_earned"] == 0
    history = client.get(
        f"/api/v1/organisations/{court['organisation_id']}/points/history", headers=court["headers"]
    )
    assert [(e["kind"], e["points"], e["source_type"]) for e in history.json] == [("earn", expected, "order")]


@pytest.mark.parametrize("app_overrides", [{"POINTS_PENDING_DAYS": 0}])
def test_settled_organisation_points_give_the_organisation_its_tier(client, court, app_overrides):
    _claim_by_wechat(client, court)

    summary = _organisation_points(client, court).json
    assert (summary["settled"], summary["pending"]) == (5_000, 0)
    assert summary["tier"]["tier"]["name"] == "深绿"
    _member_has_nothing(client, court)


@pytest.mark.parametrize("app_overrides", [{"ORGANISATION_POINTS": "none"}])
def test_organisation_points_can_be_switched_off(client, court, app_overrides):
    _claim_by_transfer(client, court)

    _member_has_nothing(client, court)
    summary = _organisation_points(client, court).json
    assert (summary["settled"], summary["pending"]) == (0, 0)


def test_a_refund_takes_the_points_back_from_the_organisation(client, court):
    order = _claim_by_wechat(client, court)
    refunds = f"/api/v1/admin/orders/{order['out_trade_no']}/refunds"

    partial = client.post(refunds, json={"grams": 2_000_000, "reason": "less needed"}, headers=court["admin"])
    assert partial.status_code == 201 and partial.json["status"] == "succeeded", partial.json
    assert _organisation_points(client, court).json["pending"] == 3_000
    rest = client.post(refunds, json={"reason": "cancelled"}, headers=court["admin"])
    assert rest.status_code == 201 and rest.json["status"] == "succeeded", rest.json

    summary = _organisation_points(client, court).json
    assert (summary["settled"], summary["pending"]) == (0, 0)
    _member_has_nothing(client, court)


def test_organisation_points_are_for_its_members_to_read_only(client, court):
    _claim_by_wechat(client, court)
    outsider = bearer(login_user(client, "outsider-code")[0])
    url = f"/api/v1/organisations/{court['organisation_id']}/points"

    assert client.get(url).status_code == 401
    assert client.get(url, headers=outsider).status_code == 403
    assert client.get(f"{url}/history", headers=outsider).status_code == 403
    assert client.get(url, headers=court["admin"]).status_code == 200
    assert client.get("/api/v1/organisations/999999/points", headers=court["admin"]).status_code == 404
    for method in ("post", "patch", "put", "delete"):
        assert getattr(client, method)(url, json={}, headers=court["headers"]).status_code == 405


def test_a_personal_purchase_still_earns_the_person_and_ranks_them(client):
    stock_pool()
    token, _ = login_user(client, "person-code")
    headers = bearer(token)
    placed = client.post("/api/v1/orders", json={"product": "one_yuan", "units": 3}, headers=headers)
    assert placed.status_code == 201 and placed.json["order"]["organisation_id"] is None
    number = placed.json["order"]["out_trade_no"]
    assert client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=headers).status_code == 200

    assert client.get("/api/v1/me/points", headers=headers).json["pending"] == 30
    mine = client.get("/api/v1/me/rank", query_string={"board": "offsets", "period": "all"}, headers=headers)
    assert (mine.json["rank"], mine.json["score_g"]) == (1, 30_000)


@pytest.mark.postgres
@pytest.mark.parametrize("purchase", [_claim_by_transfer, _event_offset])
def test_an_organisations_purchase_earns_the_organisation_on_postgres(pg_client, purchase):
    who = organiser(pg_client, "pg-procurator", "顺昌县人民检察院")
    order = purchase(pg_client, who)

    _member_has_nothing(pg_client, who)
    summary = _organisation_points(pg_client, who).json
    assert (summary["settled"], summary["pending"]) == (0, order["grams"] // 1_000)


def test_points_members_were_given_for_organisation_purchases_move_to_the_organisation(app, client, court):
    """Before organisations kept points, the member who paid was awarded them: the command moves them."""
    order = _claim_by_wechat(client, court)
    with unit_of_work() as session:
        row = session.scalar(select(Order).where(Order.out_trade_no == order["out_trade_no"]))
        session.execute(delete(OrganisationPointsEntry))
        points.award(
            session,
            row.user_id,
            5_000,
            "order",
            str(row.id),
            "offset 5000 kg",
            pending_until=utcnow() + timedelta(days=7),
        )
    assert client.get("/api/v1/me/tier", headers=court["headers"]).json["pending"] == 5_000

    runner = app.test_cli_runner()
    moved = runner.invoke(args=["points", "move-organisation-purchases"])
    assert moved.exit_code == 0, moved.output
    assert "moved 1 awards" in moved.output

    _member_has_nothing_but_the_reversal(client, court)
    summary = _organisation_points(client, court).json
    assert (summary["settled"], summary["pending"]) == (0, 5_000)
    again = runner.invoke(args=["points", "move-organisation-purchases"])
    assert "moved 0 awards" in again.output
    assert _organisation_points(client, court).json["pending"] == 5_000


def _member_has_nothing_but_the_reversal(client, who) -> None:
    assert client.get("/api/v1/me/points", headers=who["headers"]).json == {
        "balance": 0,
        "pending": 0,
        "lifetime_earned": 0,
    }
    history = client.get("/api/v1/me/points/history", headers=who["headers"]).json
    assert [(e["kind"], e["points"]) for e in history] == [("reverse", -5_000), ("earn", 5_000)]
