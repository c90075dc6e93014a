"""Sales reports: grams, orders and money of paid orders, grouped in SQL by period and dimension.

The fact table is order lines joined to their orders: a line carries the grams and the share of the
order's amount (its `amount_fen`) taken from one project. An order's refunded fen are spread over
its lines in proportion to their amounts, rounded down, the rest going to the order's first line, so
that the lines of every order add up to exactly the order's `amount_fen` and `refunded_fen`. The
spreading is done before line filters (kind, project, owner) apply, so a filter never moves money
between lines.

An order counts from its payment (`paid_at`), whatever happened after: a refunded order keeps its
gross and shows its refund. Periods are calendar days, ISO weeks (labelled by their Monday) and
months of Beijing time (Asia/Shanghai, UTC+8 all year).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, Numeric, Select, case, cast, distinct, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from models import Channel, Order, OrderLine, Project, ProjectOwner
from models.database import is_postgres, read_session
from services.kernel.beijing_time import day_start_utc as day_start
from services.kernel.errors import ValidationFailed
from services.kernel.paging import total_of, window

PERIODS = ("day", "week", "month")
DIMENSIONS = (*PERIODS, "product", "kind", "project", "owner", "channel")
PRODUCTS = ("one_yuan", "credits")
METRICS = ("orders", "grams", "refunded_g", "net_g", "gross_fen", "refunded_fen", "net_fen")
EXPORT_LIMIT = 100_000  # rows in one export; a finer grouping over years should be split by date


@dataclass(frozen=True)
class ReportFilters:
    since: date | None = None  # Beijing calendar date, inclusive
    until: date | None = None  # Beijing calendar date, inclusive
    kind: str | None = None
    project_id: int | None = None
    owner_id: int | None = None
    channel: Channel | str | None = None
    product: str | None = None


@dataclass
class ReportRow:
    """One group: the values of its dimensions (None where not grouped) and its sums."""

    period: str | None = None
    product: str | None = None
    kind: str | None = None
    project_id: int | None = None
    project_code: str | None = None
    project_name: str | None = None
    owner_id: int | None = None
    owner_name: str | None = None
    channel: str | None = None
    orders: int = 0
    grams: int = 0
    refunded_g: int = 0
    gross_fen: int = 0
    refunded_fen: int = 0

    @property
    def net_g(self) -> int:
        return self.grams - self.refunded_g

    @property
    def net_fen(self) -> int:
        return self.gross_fen - self.refunded_fen


def _mul_div(a: Any, b: Any, c: Any, postgres: bool) -> ColumnElement[int]:
    """a × b ÷ c rounded down, in integers; PostgreSQL multiplies in numeric so it cannot overflow."""
    if postgres:
        return cast(func.div(cast(a, Numeric) * b, c), BigInteger)
    return (a * b) // c


def _period(paid_at: Any, unit: str, postgres: bool) -> ColumnElement[str]:
    if postgres:
        local = func.timezone("Asia/Shanghai", paid_at)
        formats = {"day": "YYYY-MM-DD", "week": "YYYY-MM-DD", "month": "YYYY-MM"}
        return func.to_char(func.date_trunc(unit, local), formats[unit])
    if unit == "day":
        return func.date(paid_at, "+8 hours")
    if unit == "week":
        return func.date(paid_at, "+8 hours", "-6 days", "weekday 1")  # the Monday of the week
    return func.strftime("%Y-%m", paid_at, "+8 hours")


def _check(filters: ReportFilters, group_by: list[str]) -> None:
    unknown = [d for d in group_by if d not in DIMENSIONS]
    if unknown:
        raise ValidationFailed(
            "Unknown grouping.", errors={"group_by": [f"{', '.join(unknown)}: use {', '.join(DIMENSIONS)}"]}
        )
    if len([d for d in group_by if d in PERIODS]) > 1:
        raise ValidationFailed(
            "Group by one period at most.", errors={"group_by": ["one of day, week, month"]}
        )
    if filters.since and filters.until and filters.since > filters.until:
        raise ValidationFailed("`until` is before `since`.", errors={"until": ["must not be before since"]})
    if filters.product is not None and filters.product not in PRODUCTS:
        raise ValidationFailed("Unknown product.", errors={"product": ["one_yuan or credits"]})


def _query(filters: ReportFilters, group_by: list[str]) -> Select[Any]:
    postgres = is_postgres()
    o, line, p = Order.__table__, OrderLine.__table__, Project.__table__
    share = _mul_div(o.c.refunded_fen, line.c.amount_fen, o.c.amount_fen, postgres)
    first_line = func.row_number().over(partition_by=line.c.order_id, order_by=line.c.id) == 1
    remainder = o.c.refunded_fen - func.sum(share).over(partition_by=line.c.order_id)
    product = case((o.c.units.is_(None), literal("credits")), else_=literal("one_yuan"))
    order_conditions = [o.c.paid_at.is_not(None)]
    if filters.since:
        order_conditions.append(o.c.paid_at >= day_start(filters.since))
    if filters.until:
        order_conditions.append(o.c.paid_at < day_start(filters.until + timedelta(days=1)))
    if filters.channel:
        order_conditions.append(o.c.channel == str(filters.channel))
    if filters.product == "one_yuan":
        order_conditions.append(o.c.units.is_not(None))
    elif filters.product == "credits":
        order_conditions.append(o.c.units.is_(None))
    facts = (
        select(
            line.c.order_id,
            line.c.project_id,
            p.c.kind_code,
            p.c.owner_id,
            o.c.channel,
            o.c.paid_at,
            product.label("product"),
            line.c.grams,
            # A full refund returns every gram, also when the grams were never delivered (a late payment).
            case((o.c.refunded_fen == o.c.amount_fen, line.c.grams), else_=line.c.refunded_g).label(
                "refunded_g"
            ),
            line.c.amount_fen.label("gross_fen"),
            (share + case((first_line, remainder), else_=0)).label("refunded_fen"),
        )
        .select_from(line.join(o, o.c.id == line.c.order_id).join(p, p.c.id == line.c.project_id))
        .where(*order_conditions)
        .subquery("facts")
    )
    projects = Project.__table__.alias("report_projects")
    owners = ProjectOwner.__table__.alias("report_owners")
    columns: list[ColumnElement[Any]] = []
    keys: list[ColumnElement[Any]] = []
    joins = facts
    for dimension in group_by:
        if dimension in PERIODS:
            expr = _period(facts.c.paid_at, dimension, postgres).label("period")
            columns.append(expr)
            keys.append(expr)
        elif dimension == "product":
            columns.append(facts.c.product)
            keys.append(facts.c.product)
        elif dimension == "kind":
            columns.append(facts.c.kind_code.label("kind"))
            keys.append(facts.c.kind_code)
        elif dimension == "channel":
            columns.append(facts.c.channel)
            keys.append(facts.c.channel)
        elif dimension == "project":
            joins = joins.join(projects, projects.c.id == facts.c.project_id)
            columns += [
                facts.c.project_id,
                projects.c.code.label("project_code"),
                projects.c.name.label("project_name"),
            ]
            keys += [facts.c.project_id, projects.c.code, projects.c.name]
        elif dimension == "owner":
            joins = joins.outerjoin(owners, owners.c.id == facts.c.owner_id)
            columns += [facts.c.owner_id, owners.c.name.label("owner_name")]
            keys += [facts.c.owner_id, owners.c.name]
    line_conditions = []
    if filters.kind:
        line_conditions.append(facts.c.kind_code == filters.kind)
    if filters.project_id:
        line_conditions.append(facts.c.project_id == filters.project_id)
    if filters.owner_id:
        line_conditions.append(facts.c.owner_id == filters.owner_id)
    sums = [
        func.count(distinct(facts.c.order_id)).label("orders"),
        func.coalesce(func.sum(facts.c.grams), 0).label("grams"),
        func.coalesce(func.sum(facts.c.refunded_g), 0).label("refunded_g"),
        func.coalesce(func.sum(facts.c.gross_fen), 0).label("gross_fen"),
        func.coalesce(func.sum(facts.c.refunded_fen), 0).label("refunded_fen"),
    ]
    query = select(*columns, *sums).select_from(joins).where(*line_conditions)
    if keys:
        query = query.group_by(*keys).order_by(*keys)
    return query


def _row(mapping: Any) -> ReportRow:
    values = dict(mapping)
    for name in ("orders", "grams", "refunded_g", "gross_fen", "refunded_fen"):
        values[name] = int(values[name] or 0)
    if values.get("channel") is not None:
        values["channel"] = str(values["channel"])  # a StrEnum: its value
    return ReportRow(**values)


def sales_report(
    filters: ReportFilters, group_by: list[str], *, page: int, page_size: int
) -> tuple[list[ReportRow], int]:
    """One page of groups, ordered by their dimensions, and the number of groups."""
    _check(filters, group_by)
    group_by = list(dict.fromkeys(group_by))
    query = _query(filters, group_by)
    session = read_session()
    total = total_of(session, query)
    rows = session.execute(window(query, page, page_size)).mappings().all()
    session.rollback()
    return [_row(r) for r in rows], int(total)


def sales_totals(filters: ReportFilters) -> ReportRow:
    """The sums over every paid order matching the filters."""
    _check(filters, [])
    session = read_session()
    row = session.execute(_query(filters, [])).mappings().one()
    session.rollback()
    return _row(row)


def sales_rows(filters: ReportFilters, group_by: list[str]) -> list[ReportRow]:
    """Every group (up to `EXPORT_LIMIT`), for an export."""
    _check(filters, group_by)
    group_by = list(dict.fromkeys(group_by))
    session = read_session()
    rows = session.execute(_query(filters, group_by).limit(EXPORT_LIMIT + 1)).mappings().all()
    session.rollback()
    if len(rows) > EXPORT_LIMIT:
        raise ValidationFailed(
            f"The export would have more than {EXPORT_LIMIT:,} rows; narrow the dates or the grouping.",
            errors={"group_by": ["too many groups"]},
        )
    return [_row(r) for r in rows]
