"""Sales reports: every grouping adds up to the paid orders, refunds included; CSV and XLSX exports."""

import csv
import io
from collections import defaultdict

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from models import Order, OrderLine
from models.database import unit_of_work
from services.kernel.beijing_time import BEIJING
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.pool import stock_pool
from tests.support.rollups import rebuild_rollups

SALES = "/api/v1/admin/reports/sales"
METRICS = ("grams", "refunded_g", "net_g", "gross_fen", "refunded_fen", "net_fen")


def _sales_scene(client):
    """Paid orders over three projects, one spanning two projects, with partial and full refunds."""
    stock_pool(tonnes=1, code="A", kind="FFCER", owner="林农陈某")
    stock_pool(tonnes=1, code="B", kind="SMCER", owner="村集体")
    project_c, _ = stock_pool(tonnes=3, code="C", kind="CCER", owner=None, price_fen_per_t=3_000)
    admin_token, _ = login_admin(client)
    admin = bearer(admin_token)
    buyer_token, _ = login_user(client, "report-buyer")
    buyer = bearer(buyer_token)

    def order(body):
        response = client.post("/api/v1/orders", json=body, headers=buyer)
        assert response.status_code == 201, response.json
        return response.json["order"]["out_trade_no"]

    def pay(number):
        assert client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=buyer).status_code == 200

    def refund(number, grams=None):
        body = {"reason": "asked"} | ({"grams": grams} if grams else {})
        response = client.post(f"/api/v1/admin/orders/{number}/refunds", json=body, headers=admin)
        assert response.status_code == 201, response.json

    spanning = order({"product": "one_yuan", "units": 150})  # 1.5 t: both one-yuan projects
    pay(spanning)
    refund(spanning, 70_000)  # 7 units: 700 fen to spread over two lines
    small = order({"product": "one_yuan", "units": 3})
    pay(small)
    refund(small)  # in full
    credits = order({"product": "credits", "project_id": project_c, "grams": 1_234_567})
    pay(credits)
    refund(credits, 200_000)
    plain = order({"product": "credits", "project_id": project_c, "grams": 5_000})
    pay(plain)
    order({"product": "one_yuan", "units": 1})  # never paid: not a sale
    with unit_of_work() as session:
        session.execute(update(Order).where(Order.out_trade_no == credits).values(channel="event"))
    rebuild_rollups()  # an edit in SQL moves no rollup
    return admin, buyer, spanning


def _orders_sums():
    with unit_of_work() as session:
        orders = session.scalars(select(Order).where(Order.paid_at.is_not(None))).all()
        lines = session.execute(
            select(OrderLine.project_id, OrderLine.amount_fen).join(Order).where(Order.paid_at.is_not(None))
        ).all()
        gross_by_project = defaultdict(int)
        for project_id, amount in lines:
            gross_by_project[project_id] += amount
        return {
            "orders": len(orders),
            "grams": sum(o.grams for o in orders),
            "refunded_g": sum(o.grams if o.refunded_fen == o.amount_fen else o.refunded_g for o in orders),
            "gross_fen": sum(o.amount_fen for o in orders),
            "refunded_fen": sum(o.refunded_fen for o in orders),
            "day": orders[0].paid_at.astimezone(BEIJING).date().isoformat(),
        }, dict(gross_by_project)


def _all_rows(client, admin, **query):
    rows, page = [], 1
    while True:
        response = client.get(SALES, query_string={**query, "page": page, "page_size": 2}, headers=admin)
        assert response.status_code == 200, response.json
        rows += response.json
        if len(response.json) < 2:
            return rows
        page += 1


def _check_report_adds_up(client):
    admin, _buyer, _spanning = _sales_scene(client)
    expected, gross_by_project = _orders_sums()
    totals = client.get(f"{SALES}/totals", headers=admin).json
    assert {k: totals[k] for k in ("orders", "grams", "refunded_g", "gross_fen", "refunded_fen")} == {
        k: expected[k] for k in ("orders", "grams", "refunded_g", "gross_fen", "refunded_fen")
    }
    assert totals["orders"] == 4
    assert totals["gross_fen"] == 15_000 + 300 + 3_704 + 15
    assert totals["refunded_fen"] == 700 + 300 + 600
    assert totals["net_fen"] == totals["gross_fen"] - totals["refunded_fen"]
    assert totals["net_g"] == totals["grams"] - totals["refunded_g"]

    for group_by in ("day", "week", "month", "product", "kind", "project", "owner", "channel", "month,kind"):
        rows = _all_rows(client, admin, group_by=group_by)
        for metric in METRICS:
            assert sum(r[metric] for r in rows) == totals[metric], (group_by, metric)
        if group_by in ("day", "week", "month", "product", "channel"):
            assert sum(r["orders"] for r in rows) == totals["orders"], group_by

    (day,) = _all_rows(client, admin, group_by="day")
    assert day["period"] == expected["day"]
    by_project = {r["project_code"]: r for r in _all_rows(client, admin, group_by="project")}
    assert {code: r["gross_fen"] for code, r in by_project.items()} == {
        code: gross_by_project[r["project_id"]] for code, r in by_project.items()
    }
    # The spanning order took A's tonne and half of B's; it counts in both, as does its refund.
    assert (by_project["A"]["orders"], by_project["B"]["orders"], by_project["C"]["orders"]) == (1, 2, 2)
    assert (by_project["A"]["grams"], by_project["A"]["gross_fen"]) == (1_000_000, 10_000)
    # The spanning order's 700 fen refund, spread over its two lines, still adds up to 700.
    spanning_refund = client.get(
        SALES, query_string={"group_by": "project", "product": "one_yuan"}, headers=admin
    )
    assert sum(r["refunded_fen"] for r in spanning_refund.json) == 700 + 300
    by_kind = {r["kind"]: r for r in _all_rows(client, admin, group_by="kind")}
    assert (by_kind["CCER"]["gross_fen"], by_kind["CCER"]["refunded_fen"]) == (3_704 + 15, 600)
    by_channel = {r["channel"]: r for r in _all_rows(client, admin, group_by="channel")}
    assert by_channel["event"]["gross_fen"] == 3_704 and by_channel["event"]["orders"] == 1
    by_product = {r["product"]: r["orders"] for r in _all_rows(client, admin, group_by="product")}
    assert by_product == {"one_yuan": 2, "credits": 2}
    owners = {r["owner_name"] for r in _all_rows(client, admin, group_by="owner")}
    assert owners == {"林农陈某", "村集体", None}

    ccer = client.get(f"{SALES}/totals", query_string={"kind": "CCER"}, headers=admin).json
    assert (ccer["orders"], ccer["gross_fen"], ccer["refunded_fen"]) == (2, 3_719, 600)
    assert (
        client.get(f"{SALES}/totals", query_string={"since": "2099-01-01"}, headers=admin).json["orders"] == 0
    )
    same_day = client.get(
        f"{SALES}/totals", query_string={"since": expected["day"], "until": expected["day"]}, headers=admin
    )
    assert same_day.json["gross_fen"] == totals["gross_fen"]
    page = client.get(SALES, query_string={"group_by": "project", "page_size": 1}, headers=admin)
    assert len(page.json) == 1 and '"total": 3' in page.headers["X-Pagination"]
    return admin


def test_report_totals_equal_the_sum_of_the_orders(client):
    _check_report_adds_up(client)


@pytest.mark.postgres
def test_report_totals_equal_the_sum_of_the_orders_on_postgres(pg_client):
    _check_report_adds_up(pg_client)


def test_csv_and_xlsx_exports_parse_back_to_the_report(client):
    admin, _buyer, _ = _sales_scene(client)
    query = {"group_by": "project,channel"}
    report = client.get(SALES, query_string={**query, "page_size": 100}, headers=admin).json
    expected = [
        [
            r["project_id"],
            r["project_code"],
            r["project_name"],
            r["channel"],
            r["orders"],
            *(r[m] for m in METRICS),
        ]
        for r in report
    ]
    header = ["project_id", "project_code", "project_name", "channel", "orders", *METRICS]

    exported = client.get(f"{SALES}/export", query_string={**query, "format": "csv"}, headers=admin)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert exported.headers["Content-Disposition"] == 'attachment; filename="sales-project-channel.csv"'
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[0] == header
    assert rows[1:] == [[str(v) for v in row] for row in expected]

    workbook = client.get(f"{SALES}/export", query_string={**query, "format": "xlsx"}, headers=admin)
    assert workbook.status_code == 200
    assert workbook.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(workbook.data), read_only=True)["sales"]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == header and values[1:] == expected


def test_reports_are_for_admins_and_bad_queries_say_why(client):
    token, _ = login_user(client, "curious")
    user = bearer(token)
    for path in (SALES, f"{SALES}/totals", f"{SALES}/export?format=csv"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=user).status_code == 403
    admin_token, _ = login_admin(client)
    admin = bearer(admin_token)
    unknown = client.get(SALES, query_string={"group_by": "day,colour"}, headers=admin)
    assert unknown.status_code == 422 and "group_by" in unknown.json["errors"]["query"]
    two_periods = client.get(SALES, query_string={"group_by": "day,month"}, headers=admin)
    assert two_periods.status_code == 422 and "group_by" in two_periods.json["errors"]
    backwards = client.get(SALES, query_string={"since": "2026-02-01", "until": "2026-01-01"}, headers=admin)
    assert backwards.status_code == 422 and "until" in backwards.json["errors"]["query"]
    no_format = client.get(f"{SALES}/export", headers=admin)
    assert no_format.status_code == 422 and "format" in no_format.json["errors"]["query"]
    empty = client.get(SALES, headers=admin)
    assert empty.status_code == 200 and empty.json == []
