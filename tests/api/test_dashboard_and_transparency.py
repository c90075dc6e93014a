"""The admin dashboard and the public transparency report: figures that add up."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import select

from models import Order
from models.database import unit_of_work
from services.kernel import beijing_time
from services.kernel.redis_store import get_redis
from services.points import points
from services.reporting import transparency
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.pool import stock_pool
from tests.support.sales import add_batch, buy

TONNE = 1_000_000


@pytest.fixture
def app_overrides():
    return {"POINTS_PENDING_DAYS": 0}  # points spendable at once, so that one can be spent


@pytest.fixture
def admin(client):
    return bearer(login_admin(client)[0])


@pytest.fixture
def activity(client, admin):
    """Two projects; three sales, a partial refund, an unpaid order and a confirmed retirement of 1 t."""
    project_a, _ = stock_pool(code="A", owner="林农陈某", tonnes=0)
    add_batch(project_a, 2)
    stock_pool(code="B", owner="林农李某", tonnes=1)
    buyers = [bearer(login_user(client, f"buyer-{i}")[0]) for i in range(3)]
    first = buy(client, buyers[0], 120)  # tonne 0 of A's batch and 0.2 t of tonne 1
    second = buy(client, buyers[1], 30)
    buy(client, buyers[2], 5)
    client.post("/api/v1/orders", json={"product": "one_yuan", "units": 2}, headers=buyers[2])  # not paid
    refund = client.post(f"/api/v1/orders/{first}/refunds", json={"grams": 100_000}, headers=buyers[0])
    assert refund.status_code == 201
    retirement = client.post("/api/v1/admin/retirements", json={"kind": "FFCER"}, headers=admin).json
    client.post(f"/api/v1/admin/retirements/{retirement['id']}/submit", json={}, headers=admin)
    confirmed = client.post(
        f"/api/v1/admin/retirements/{retirement['id']}/confirm",
        json={"registry_ref": "FJ-2026-7", "retired_on": beijing_time.today().isoformat()},
        headers=admin,
    )
    assert confirmed.status_code == 200 and confirmed.json["tonnes"] == 1
    with unit_of_work() as session:
        user_id = session.scalar(select(Order.user_id).where(Order.out_trade_no == second))
        points.spend(session, user_id, 120, "redemption", "gift-1", "a bamboo cup")
    return {"buyers": buyers}


def dashboard(client, admin, **query):
    response = client.get("/api/v1/admin/dashboard", query_string=query, headers=admin)
    assert response.status_code == 200, response.json
    return response.json


FIGURES = (
    "sold_g",
    "refunded_g",
    "net_sold_g",
    "retired_g",
    "new_users",
    "orders_created",
    "orders_paid",
    "points_awarded",
    "points_spent",
    "points_reversed",
    "sales_fen",
    "refunded_fen",
    "net_fen",
)


@pytest.mark.parametrize(("period", "buckets"), [("day", 3), ("week", 2), ("month", 2)])
def test_dashboard_buckets_add_up_to_totals_and_to_the_pool(client, admin, activity, period, buckets):
    board = dashboard(client, admin, period=period, buckets=buckets)
    assert len(board["buckets"]) == buckets
    for figure in FIGURES:
        assert sum(bucket[figure] for bucket in board["buckets"]) == board["totals"][figure], figure
    today = board["buckets"][-1]
    assert today["start"] <= beijing_time.today().isoformat()
    totals, now = board["totals"], board["now"]
    assert totals["sold_g"] == (120 + 30 + 5) * 10_000
    assert totals["refunded_g"] == 100_000
    assert totals["net_sold_g"] == now["sold_g"]  # everything happened inside the buckets
    assert totals["retired_g"] == now["retired_g"] == TONNE
    assert totals["sales_fen"] == 15_500 and totals["refunded_fen"] == 1_000 and totals["net_fen"] == 14_500
    assert totals["new_users"] == now["users"] == 3
    assert totals["orders_created"] == 4 == sum(totals["orders_by_state"].values())
    assert totals["orders_by_state"] == {"fulfilled": 2, "partially_refunded": 1, "awaiting_payment": 1}
    assert totals["orders_paid"] == 3
    # A partial refund reverses the award and awards the rest again: net, one point per kilogram held.
    assert totals["points_awarded"] - totals["points_reversed"] == totals["net_sold_g"] // 1_000 == 1_450
    assert totals["points_spent"] == 120
    assert now["issued_g"] == now["available_g"] + now["reserved_g"] + now["sold_g"] == 3 * TONNE


def test_dashboard_money_matches_the_payouts(client, admin, activity):
    month = dashboard(client, admin, period="month", buckets=1)
    payouts = client.get(
        "/api/v1/admin/payouts/summary",
        query_string={"month": f"{beijing_time.today():%Y-%m}"},
        headers=admin,
    ).json
    assert month["totals"]["net_fen"] == payouts["net_fen"] == payouts["payouts_fen"]


def test_dashboard_buckets_are_beijing_days_weeks_and_months(client, admin):
    days = dashboard(client, admin, period="day", buckets=2, until="2026-03-01")["buckets"]
    assert [d["start"] for d in days] == ["2026-02-28", "2026-03-01"]
    assert days[1]["starts_at"].startswith("2026-02-28T16:00:00")  # midnight in Beijing
    weeks = dashboard(client, admin, period="week", buckets=1, until="2026-11-22")["buckets"]
    assert weeks[0]["start"] == "2026-11-16"  # the Monday
    months = dashboard(client, admin, period="month", buckets=3, until="2026-01-15")["buckets"]
    assert [m["start"] for m in months] == ["2025-11-01", "2025-12-01", "2026-01-01"]
    assert len(dashboard(client, admin)["buckets"]) == 30
    assert client.get("/api/v1/admin/dashboard?period=year", headers=admin).status_code == 422
    assert client.get("/api/v1/admin/dashboard?buckets=1000", headers=admin).status_code == 422


def test_transparency_is_public_and_adds_up(client, activity):
    report = client.get("/api/v1/transparency")
    assert report.status_code == 200
    body = report.json
    projects = {p["code"]: p for p in body["projects"]}
    assert projects["A"]["issued_g"] == 2 * TONNE and projects["A"]["issued_t"] == "2.000000"
    assert projects["A"]["retired_g"] == TONNE and projects["A"]["retired_t"] == "1.000000"
    assert projects["A"]["owner"] == "林农陈某"
    for figure in ("issued_g", "available_g", "reserved_g", "sold_g", "retired_g", "batches"):
        assert body["totals"][figure] == sum(p[figure] for p in body["projects"]), figure
    totals = body["totals"]
    assert totals["issued_g"] == totals["available_g"] + totals["reserved_g"] + totals["sold_g"]
    assert totals["sold_g"] == (120 + 30 + 5 - 10) * 10_000 and totals["sold_t"] == "1.450000"
    assert totals["retired_g"] <= totals["sold_g"]
    (retirement,) = body["retirements"]
    assert retirement["registry_ref"] == "FJ-2026-7" and retirement["projects"] == [
        {"code": "A", "tonnes": 1}
    ]


def test_transparency_is_cached_briefly_and_computed_from_the_database(client, activity):
    first = client.get("/api/v1/transparency").json
    buy(client, activity["buyers"][1], 10)
    cached = client.get("/api/v1/transparency").json
    assert cached == first  # within the cache time
    get_redis().delete(transparency.CACHE_KEY)
    fresh = client.get("/api/v1/transparency").json
    assert fresh["totals"]["sold_g"] == first["totals"]["sold_g"] + 100_000
    assert 0 < get_redis().ttl(transparency.CACHE_KEY) <= 60


def test_transparency_answers_when_redis_is_down(client, activity, monkeypatch):
    class Down:
        def get(self, *_args, **_kwargs):
            raise redis.ConnectionError("down")

        def set(self, *_args, **_kwargs):
            raise redis.ConnectionError("down")

    monkeypatch.setattr(transparency, "get_redis", lambda: Down())
    response = client.get("/api/v1/transparency")
    assert response.status_code == 200 and response.json["totals"]["retired_g"] == TONNE
