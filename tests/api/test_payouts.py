"""Owner payouts: the one-yuan money belongs to the farmers, and every fen of net sales reaches an owner."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import update

from models import Order
from models.database import unit_of_work
from services.kernel import beijing_time
from services.pool.pool_audit import run_audit
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.pool import stock_pool
from tests.support.rollups import rebuild_rollups
from tests.support.sales import buy


@pytest.fixture
def admin(client):
    return bearer(login_admin(client)[0])


@pytest.fixture
def market(client):
    """Three owners: a farmer with two one-tonne batches, another farmer, a village selling SMCER at ¥15.50/t."""
    stock_pool(code="A", owner="林农陈某", tonnes=2)
    stock_pool(code="B", owner="林农李某", tonnes=1)
    project_c, _ = stock_pool(code="C", owner="洋坑村集体", kind="SMCER", price_fen_per_t=1_550, tonnes=1)
    owners = {o["name"]: o["id"] for o in client.get("/api/v1/catalogue/owners").json}
    buyers = [bearer(login_user(client, f"buyer-{i}")[0]) for i in range(3)]
    chen = buy(client, buyers[0], 150, owner_id=owners["林农陈某"])  # 1.5 t over both of A's batches
    li = buy(client, buyers[1], 30, owner_id=owners["林农李某"])
    wang = buy(client, buyers[2], product="credits", project_id=project_c, kg=333)  # 516.15 → 517 fen
    return {"owners": owners, "buyers": buyers, "orders": {"chen": chen, "li": li, "wang": wang}}


def this_month() -> str:
    return f"{beijing_time.today():%Y-%m}"


def payouts(client, admin, **query):
    response = client.get("/api/v1/admin/payouts", query_string=query, headers=admin)
    assert response.status_code == 200, response.json
    return response.json


def summary(client, admin, **query):
    response = client.get("/api/v1/admin/payouts/summary", query_string=query, headers=admin)
    assert response.status_code == 200, response.json
    return response.json


def test_payouts_add_up_to_net_sales_after_partial_refunds(client, admin, market):
    buyers, orders = market["buyers"], market["orders"]
    # 70 units back from the 150: 50 from the newer batch, 20 from the older one; 7,000 fen.
    first = client.post(
        f"/api/v1/orders/{orders['chen']}/refunds", json={"grams": 700_000}, headers=buyers[0]
    )
    assert first.status_code == 201 and first.json["amount_fen"] == 7_000
    # 100 kg of 333 kg: 517 × 100/333 = 155.26 → 155 fen.
    second = client.post(
        f"/api/v1/orders/{orders['wang']}/refunds", json={"grams": 100_000}, headers=buyers[2]
    )
    assert second.status_code == 201 and second.json["amount_fen"] == 155

    rows = payouts(client, admin, month=this_month())
    by_owner = {row["owner_name"]: row for row in rows}
    assert {name: row["net_fen"] for name, row in by_owner.items()} == {
        "林农陈某": 15_000 - 7_000,
        "林农李某": 3_000,
        "洋坑村集体": 517 - 155,
    }
    chen = by_owner["林农陈某"]
    assert (chen["sold_g"], chen["refunded_g"], chen["net_g"]) == (1_500_000, 700_000, 800_000)
    assert (chen["sales_fen"], chen["refunded_fen"]) == (15_000, 7_000)
    assert chen["project_code"] == "A" and chen["owner_kind"] == "other"

    totals = summary(client, admin, month=this_month())
    assert totals["sales_fen"] == 15_000 + 3_000 + 517
    assert totals["refunded_fen"] == 7_000 + 155
    assert totals["net_fen"] == 11_362 == sum(row["net_fen"] for row in rows) == totals["payouts_fen"]
    assert totals["orders_paid"] == 3 and totals["refunds"] == 2 and totals["owners"] == 3

    by_owner_only = payouts(client, admin, month=this_month(), group="owner")
    assert sorted(row["net_fen"] for row in by_owner_only) == sorted(row["net_fen"] for row in rows)
    assert all(row["project_id"] is None for row in by_owner_only)
    assert list(run_audit()) == []  # refund lines add up to their refunds and their order lines


def test_a_refund_in_a_later_month_lowers_that_month(client, admin, market):
    li = market["orders"]["li"]
    last_month = beijing_time.add_months(beijing_time.today(), -1)
    with unit_of_work() as session:
        session.execute(
            update(Order)
            .where(Order.out_trade_no == li)
            .values(paid_at=beijing_time.day_start_utc(last_month) + timedelta(hours=10))
        )
    rebuild_rollups()  # an edit in SQL moves no rollup
    refund = client.post(
        f"/api/v1/admin/orders/{li}/refunds", json={"grams": 100_000, "reason": "asked"}, headers=admin
    )
    assert refund.status_code == 201 and refund.json["amount_fen"] == 1_000, refund.json

    before = {
        row["owner_name"]: row["net_fen"] for row in payouts(client, admin, month=f"{last_month:%Y-%m}")
    }
    now = {row["owner_name"]: row["net_fen"] for row in payouts(client, admin, month=this_month())}
    assert before == {"林农李某": 3_000}
    assert now["林农李某"] == -1_000
    for month in (f"{last_month:%Y-%m}", this_month()):
        totals = summary(client, admin, month=month)
        assert totals["net_fen"] == totals["payouts_fen"]


def test_custom_range_and_csv_export(client, admin, market):
    today = beijing_time.today()
    query = {"since": today.isoformat(), "until": (today + timedelta(days=1)).isoformat()}
    rows = payouts(client, admin, **query)
    assert sum(row["net_fen"] for row in rows) == 18_517
    export = client.get("/api/v1/admin/payouts/export", query_string=query, headers=admin)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(table) == 3
    assert sum(int(row["net_fen"]) for row in table) == 18_517
    assert {row["owner_name"]: row["net_yuan"] for row in table}["洋坑村集体"] == "5.17"
    empty = payouts(client, admin, month="2001-01")
    assert empty == []


def test_pagination_of_payouts(client, admin, market):
    response = client.get(
        "/api/v1/admin/payouts", query_string={"month": this_month(), "page_size": 2}, headers=admin
    )
    assert len(response.json) == 2
    assert '"total": 3' in response.headers["X-Pagination"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "month"),
        ({"month": "2026-13"}, "month"),
        ({"month": "2026-11", "since": "2026-11-01"}, "month"),
        ({"since": "2026-11-01"}, "until"),
        ({"since": "2026-11-02", "until": "2026-11-01"}, "until"),
        ({"month": "2026-11", "group": "county"}, "group"),
    ],
)
def test_bad_periods_are_422_naming_the_field(client, admin, query, field):
    response = client.get("/api/v1/admin/payouts", query_string=query, headers=admin)
    assert response.status_code == 422, response.json
    assert field in str(response.json["errors"])
