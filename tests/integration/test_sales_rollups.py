"""The rollups the reads sum equal the detailed sums over the orders: right after purchases and
refunds (deltas not compacted), after compaction, after a rebuild, on SQLite and on PostgreSQL;
an upgrade builds them from the orders already there; a user's orders page deep by `before`."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import delete, func, select, update

from api.context import order_policy, payment_provider
from models import (
    Batch,
    Order,
    OrderStateRollup,
    PointsEntry,
    Project,
    Refund,
    RefundStatus,
    SalesRollup,
    SalesRollupDelta,
    SplitOrder,
    utcnow,
)
from models.database import get_engine, unit_of_work
from services.kernel.beijing_time import beijing_date, today
from services.reporting import rollup_audit
from services.reporting.rollup_compaction import SETTLE, compact_all
from services.reporting.rollup_rebuild import rebuild
from services.reporting.sales_rollups import report_refunds
from services.settlement.order_jobs import finish_refunds
from services.settlement.payment_flow import handle_payment_notification
from tests.conftest import alembic_config
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.pool import stock_pool
from tests.support.sales import buy

SALES = "/api/v1/admin/reports/sales"
GROUPINGS = ("day", "week,product", "kind", "owner", "project,channel", "kind,owner", "month,kind,channel")


@pytest.fixture
def app_overrides():
    return {"POINTS_PENDING_DAYS": 0}  # points spendable at once, so that some are spent


def _scene(client) -> dict:
    """Sales over three projects (one order spanning two), partial and full refunds, an unpaid
    order, a payment too late to be fulfilled (refunded automatically) and points spent."""
    stock_pool(tonnes=1, code="A", kind="FFCER", owner="林农陈某")
    stock_pool(tonnes=1, code="B", kind="FFCER", owner="村集体")  # A's kind: that order counts once in it
    project_c, _ = stock_pool(tonnes=3, code="C", kind="CCER", owner=None, price_fen_per_t=3_000)
    admin = bearer(login_admin(client)[0])
    buyer = bearer(login_user(client, "rollup-buyer")[0])
    other = bearer(login_user(client, "rollup-other")[0])

    def refund(number: str, grams: int | None = None) -> None:
        body = {"reason": "asked"} | ({"grams": grams} if grams else {})
        response = client.post(f"/api/v1/admin/orders/{number}/refunds", json=body, headers=admin)
        assert response.status_code == 201, response.json

    spanning = buy(client, buyer, 150)  # 1.5 t: both one-yuan projects
    refund(spanning, 70_000)
    small = buy(client, other, 3)
    refund(small)
    credits = buy(client, buyer, product="credits", project_id=project_c, grams=1_234_567)
    refund(credits, 200_000)
    assert (
        client.post("/api/v1/orders", json={"product": "one_yuan", "units": 1}, headers=other).status_code
        == 201
    )
    with unit_of_work() as session:
        left = session.scalar(select(func.sum(Batch.available_g)).where(Batch.project_id == project_c))
    late_body = {"product": "credits", "project_id": project_c, "grams": int(left)}  # all C has left
    late = client.post("/api/v1/orders", json=late_body, headers=other)
    number = late.json["order"]["out_trade_no"]
    with unit_of_work() as session:
        session.execute(update(Order).where(Order.out_trade_no == number).values(expires_at=utcnow()))
    notification = payment_provider().complete(number, late.json["order"]["amount_fen"])
    client.get(f"/api/v1/orders/{number}", headers=other)  # expires it
    buy(client, buyer, **late_body)  # the rival takes the grams
    assert handle_payment_notification(notification, "sandbox", order_policy()).outcome == "refund_started"
    finish_refunds(payment_provider(), order_policy())
    with unit_of_work() as session:
        assert session.scalar(select(Order.status).where(Order.out_trade_no == number)).value == "refunded"
        user_id = session.scalar(select(Order.user_id).where(Order.out_trade_no == spanning))
        from services.points import points

        points.spend(session, user_id, 10, "redemption", "cup-1", "a bamboo cup")
    return {"admin": admin, "buyer": buyer}


# -- the detailed sums, from the orders themselves --


def _facts() -> list[dict]:
    """One fact per paid order line, as the report defines it."""
    with unit_of_work() as session:
        projects = {p.id: p for p in session.scalars(select(Project))}
        facts = []
        for order in session.scalars(select(Order).where(Order.paid_at.is_not(None))):
            lines = order.lines
            refunded = report_refunds(
                [(line.id, line.grams, line.refunded_g, line.amount_fen) for line in lines],
                order.refunded_fen,
                order.amount_fen,
            )
            for line in lines:
                project = projects[line.project_id]
                day = beijing_date(order.paid_at)
                facts.append(
                    {
                        "order": order.id,
                        "day": day.isoformat(),
                        "week": (day - timedelta(days=day.weekday())).isoformat(),
                        "month": f"{day:%Y-%m}",
                        "product": "credits" if order.units is None else "one_yuan",
                        "channel": order.channel.value,
                        "kind": project.kind_code,
                        "project_id": project.id,
                        "owner_id": project.owner_id,
                        "grams": line.grams,
                        "gross_fen": line.amount_fen,
                        "refunded_g": refunded[line.id][0],
                        "refunded_fen": refunded[line.id][1],
                    }
                )
        return facts


def _expected(group_by: list[str], **only: object) -> dict[tuple, tuple]:
    groups: dict[tuple, dict] = defaultdict(lambda: {"orders": set(), "sums": [0, 0, 0, 0]})
    for fact in _facts():
        if any(fact[name] != value for name, value in only.items()):
            continue
        key = tuple(
            fact[d if d != "owner" else "owner_id"] if d != "project" else fact["project_id"]
            for d in group_by
        )
        group = groups[key]
        group["orders"].add(fact["order"])
        for i, name in enumerate(("grams", "refunded_g", "gross_fen", "refunded_fen")):
            group["sums"][i] += fact[name]
    return {key: (len(g["orders"]), *g["sums"]) for key, g in groups.items()}


def _reported(client, admin, group_by: list[str]) -> dict[tuple, tuple]:
    response = client.get(
        SALES, query_string={"group_by": ",".join(group_by), "page_size": 100}, headers=admin
    )
    assert response.status_code == 200, response.json
    names = {
        "day": "period",
        "week": "period",
        "month": "period",
        "owner": "owner_id",
        "project": "project_id",
    }
    return {
        tuple(row[names.get(d, d)] for d in group_by): (
            row["orders"],
            row["grams"],
            row["refunded_g"],
            row["gross_fen"],
            row["refunded_fen"],
        )
        for row in response.json
    }


def _dashboard_expected() -> dict:
    with unit_of_work() as session:
        orders = session.scalars(select(Order)).all()
        refunds = session.scalars(
            select(Refund).where(Refund.status == RefundStatus.SUCCEEDED, Refund.transaction_id.is_(None))
        ).all()
        states: dict[str, int] = defaultdict(int)
        for order in orders:
            states[order.status.value] += 1
        spent = session.scalar(select(func.sum(PointsEntry.points)).where(PointsEntry.kind == "spend")) or 0
        return {
            "sold_g": sum(o.grams for o in orders if o.fulfilled_at),
            "refunded_g": sum(r.grams for r in refunds),
            "refunded_fen": sum(r.amount_fen for r in refunds),
            "orders_paid": sum(1 for o in orders if o.paid_at),
            "sales_fen": sum(o.amount_fen for o in orders if o.paid_at),
            "orders_created": len(orders),
            "orders_by_state": dict(states),
            "points_spent": -spent,
        }


def _agree(client, admin) -> None:
    assert list(rollup_audit.run_check()) == []
    for grouping in GROUPINGS:
        group_by = grouping.split(",")
        assert _reported(client, admin, group_by) == _expected(group_by), grouping
    totals = client.get(f"{SALES}/totals", headers=admin).json
    (expected,) = _expected([]).values()
    assert (
        totals["orders"],
        totals["grams"],
        totals["refunded_g"],
        totals["gross_fen"],
        totals["refunded_fen"],
    ) == expected
    for name, value in (("kind", "FFCER"), ("owner_id", None), ("channel", "one_yuan")):
        if value is None:
            value = _project_owner("A")
        query = {"kind": value} if name == "kind" else {name: value}
        totals = client.get(f"{SALES}/totals", query_string=query, headers=admin).json
        (expected,) = _expected([], **{name: value}).values()
        assert (
            totals["orders"],
            totals["grams"],
            totals["refunded_g"],
            totals["gross_fen"],
            totals["refunded_fen"],
        ) == expected, name
    board = client.get(
        "/api/v1/admin/dashboard", query_string={"period": "day", "buckets": 3}, headers=admin
    ).json
    for figure, value in _dashboard_expected().items():
        assert board["totals"][figure] == value, figure
    month = f"{today():%Y-%m}"
    summary = client.get("/api/v1/admin/payouts/summary", query_string={"month": month}, headers=admin).json
    assert summary["net_fen"] == summary["payouts_fen"] == board["totals"]["net_fen"]
    assert summary["orders_paid"] == board["totals"]["orders_paid"]


def _check_rollups(client) -> None:
    scene = _scene(client)
    admin = scene["admin"]
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(SalesRollupDelta)) > 0
        assert session.scalar(select(func.count()).select_from(SalesRollup)) == 0
        # The order of 1.5 t took its grams from A and B: it names both.
        assert session.scalar(select(func.count()).select_from(SplitOrder)) == 2
    _agree(client, admin)  # right after the purchases: deltas only

    done = compact_all(now=utcnow() + SETTLE + timedelta(minutes=1))
    assert done.deltas > 0 and done.order_events > 0 and done.points_entries > 0
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(SalesRollupDelta)) == 0
        assert session.scalar(select(func.count()).select_from(OrderStateRollup)) > 0
    _agree(client, admin)  # compacted: day rows only

    buy(client, scene["buyer"], 2)
    _agree(client, admin)  # day rows and a fresh delta

    rebuilt = rebuild()
    assert rebuilt.sales_rows > 0 and rebuilt.split_orders == 2
    _agree(client, admin)  # built again from the history
    assert compact_all().deltas == 0


def _project_owner(code: str) -> int:
    with unit_of_work() as session:
        return session.scalar(select(Project.owner_id).where(Project.code == code))


def test_rollups_equal_the_detailed_sums(client):
    _check_rollups(client)


@pytest.mark.postgres
def test_rollups_equal_the_detailed_sums_on_postgres(pg_client):
    _check_rollups(pg_client)


def test_an_upgrade_builds_the_rollups_from_the_orders_already_there(client, sqlite_url):
    admin = _scene(client)["admin"]
    with unit_of_work() as session:
        for table in (SalesRollupDelta, SalesRollup, SplitOrder, OrderStateRollup):
            session.execute(delete(table))
    get_engine().dispose()
    config = alembic_config(sqlite_url)
    command.downgrade(config, "0023")
    command.upgrade(config, "head")
    _agree(client, admin)


def test_a_deep_page_of_my_orders_is_read_from_where_the_last_page_ended(client):
    stock_pool(tonnes=1)
    buyer = bearer(login_user(client, "many-orders")[0])
    for _ in range(7):
        buy(client, buyer, 1)  # paid, so that no cap on open orders stops the next
    every = client.get("/api/v1/orders", query_string={"page_size": 100}, headers=buyer).json
    numbers = [order["out_trade_no"] for order in every]
    assert len(numbers) == 7
    walked, before = [], None
    while True:
        query = {"page_size": 3} | ({"before": before} if before else {})
        page = client.get("/api/v1/orders", query_string=query, headers=buyer)
        assert page.status_code == 200 and '"total": 7' in page.headers["X-Pagination"]
        if not page.json:
            break
        walked += [order["out_trade_no"] for order in page.json]
        before = walked[-1]
    assert walked == numbers
    offset = client.get("/api/v1/orders", query_string={"page": 2, "page_size": 3}, headers=buyer).json
    assert [o["out_trade_no"] for o in offset] == numbers[3:6]
    unknown = client.get("/api/v1/orders", query_string={"before": "NOPE"}, headers=buyer)
    assert unknown.status_code == 422 and "before" in unknown.json["errors"]
    too_long = client.get("/api/v1/orders", query_string={"before": "X" * 33}, headers=buyer)
    assert too_long.status_code == 422
