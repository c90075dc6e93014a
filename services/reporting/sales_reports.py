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

The sums are read from the sales rollups (`sales_rollups`: per day of payment, project, channel and
product, the fact table's figures already summed; `rollup_reads`), so a report costs what its days
and projects cost, not what the order history does. An order counts once per project; grouped by
kind or owner (and not by project), an order of several projects counts once in its group thanks
to the split orders, which name its projects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from models import WHOLE_ORDER, Channel, Project, ProjectOwner, SplitOrder
from models.database import is_postgres, read_session
from services.kernel.errors import ValidationFailed
from services.kernel.paging import total_of, window
from services.reporting import rollup_reads

PERIODS = ("day", "week", "month")
DIMENSIONS = (*PERIODS, "product", "kind", "project", "owner", "channel")
PRODUCTS = ("one_yuan", "credits")
METRICS = ("orders", "grams", "refunded_g", "net_g", "gross_fen", "refunded_fen", "net_fen")
EXPORT_LIMIT = 100_000  # rows in one export; a finer grouping over years should be split by date
_REPORT_FIGURES = ("orders", "grams", "report_refunded_g", "gross_fen", "report_refunded_fen")


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


def _period(day: Any, unit: str, postgres: bool) -> ColumnElement[str]:
    """The label of the day, week (its Monday) or month a rollup day falls in."""
    if postgres:
        formats = {"day": "YYYY-MM-DD", "week": "YYYY-MM-DD", "month": "YYYY-MM"}
        start = func.date_trunc("week", day) if unit == "week" else day
        return func.to_char(start, formats[unit])
    if unit == "day":
        return func.date(day)
    if unit == "week":
        return func.date(day, "-6 days", "weekday 1")  # the Monday of the week
    return func.strftime("%Y-%m", day)


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


def _by_project(filters: ReportFilters, group_by: list[str]) -> bool:
    """Whether the report reads the rows of projects (a project, kind or owner is asked about)."""
    asked = {"project", "kind", "owner"} & set(group_by)
    return bool(asked or filters.kind or filters.project_id or filters.owner_id)


def _needs_split(filters: ReportFilters, group_by: list[str]) -> bool:
    """Whether an order may count in several project rows of one group (by kind or owner, not project)."""
    return _by_project(filters, group_by) and "project" not in group_by and not filters.project_id


def _day_conditions(filters: ReportFilters, table: Any) -> list[ColumnElement[bool]]:
    conditions = []
    if filters.since:
        conditions.append(table.c.day >= filters.since)
    if filters.until:
        conditions.append(table.c.day <= filters.until)
    if filters.channel:
        conditions.append(table.c.channel == str(filters.channel))
    if filters.product:
        conditions.append(table.c.product == filters.product)
    return conditions


def _dimension(
    dimension: str, rows: Any, projects: Any, owners: Any, postgres: bool
) -> list[ColumnElement[Any]]:
    if dimension in PERIODS:
        return [_period(rows.c.day, dimension, postgres).label("period")]
    return {
        "product": lambda: [rows.c.product.label("product")],
        "channel": lambda: [rows.c.channel.label("channel")],
        "kind": lambda: [projects.c.kind_code.label("kind")],
        "project": lambda: [
            rows.c.project_id.label("project_id"),
            projects.c.code.label("project_code"),
            projects.c.name.label("project_name"),
        ],
        "owner": lambda: [projects.c.owner_id.label("owner_id"), owners.c.name.label("owner_name")],
    }[dimension]()


def _line_conditions(filters: ReportFilters, rows: Any, projects: Any) -> list[ColumnElement[bool]]:
    conditions = []
    if filters.kind:
        conditions.append(projects.c.kind_code == filters.kind)
    if filters.project_id:
        conditions.append(rows.c.project_id == filters.project_id)
    if filters.owner_id:
        conditions.append(projects.c.owner_id == filters.owner_id)
    return conditions


def _query(filters: ReportFilters, group_by: list[str]) -> Select[Any]:
    """The report from the sales rollups: the report's figures live on the project rows, the count
    of orders (when no project, kind or owner is asked about) on the whole-order rows."""
    postgres = is_postgres()
    by_project = _by_project(filters, group_by)

    def where(table: Any) -> list[ColumnElement[bool]]:
        conditions = _day_conditions(filters, table)
        if by_project:
            conditions.append(table.c.project_id != WHOLE_ORDER)
        return conditions

    rows = rollup_reads.sales_rows(where, figures=_REPORT_FIGURES)
    projects = Project.__table__.alias("report_projects")
    owners = ProjectOwner.__table__.alias("report_owners")
    joins = rows
    if by_project:
        joins = joins.join(projects, projects.c.id == rows.c.project_id)
        if "owner" in group_by:
            joins = joins.outerjoin(owners, owners.c.id == projects.c.owner_id)
    columns = [c for d in group_by for c in _dimension(d, rows, projects, owners, postgres)]
    keys = list(columns)
    in_projects = rows.c.project_id != WHOLE_ORDER
    orders = rows.c.orders if by_project else case((in_projects, literal(0)), else_=rows.c.orders)
    sums = [
        func.coalesce(func.sum(orders), 0).label("orders"),
        func.coalesce(func.sum(rows.c.grams), 0).label("grams"),
        func.coalesce(func.sum(rows.c.report_refunded_g), 0).label("refunded_g"),
        func.coalesce(func.sum(rows.c.gross_fen), 0).label("gross_fen"),
        func.coalesce(func.sum(rows.c.report_refunded_fen), 0).label("refunded_fen"),
    ]
    query = select(*columns, *sums).select_from(joins).where(*_line_conditions(filters, rows, projects))
    if keys:
        has_lines = func.sum(case((in_projects, rows.c.orders), else_=literal(0))) > 0
        query = query.group_by(*keys).having(has_lines).order_by(*keys)
    return query


def _split_counts(filters: ReportFilters, group_by: list[str]) -> dict[tuple[Any, ...], int]:
    """Per group (by kind or owner): how many times over its orders of several projects count."""
    postgres = is_postgres()
    split = SplitOrder.__table__
    projects = Project.__table__.alias("split_projects")
    dims = [d for d in group_by if d != "project"]
    columns = []
    for i, dimension in enumerate(dims):
        if dimension in PERIODS:
            column = _period(split.c.day, dimension, postgres)
        else:
            column = {
                "product": split.c.product,
                "channel": split.c.channel,
                "kind": projects.c.kind_code,
                "owner": projects.c.owner_id,
            }[dimension]
        columns.append(column.label(f"k{i}"))
    per_order = (
        select(split.c.order_id, *columns, func.count().label("n"))
        .select_from(split.join(projects, projects.c.id == split.c.project_id))
        .where(*_day_conditions(filters, split), *_line_conditions(filters, split, projects))
        .group_by(split.c.order_id, *(c.element for c in columns))
        .subquery("per_order")
    )
    keys = [per_order.c[f"k{i}"] for i in range(len(dims))]
    query = select(*keys, func.sum(per_order.c.n - 1)).group_by(*keys)
    session = read_session()
    found = {tuple(_plain(v) for v in row[:-1]): int(row[-1] or 0) for row in session.execute(query)}
    session.rollback()
    return {key: n for key, n in found.items() if n}


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def _count_once(rows: list[ReportRow], filters: ReportFilters, group_by: list[str]) -> list[ReportRow]:
    """Count an order of several projects once in a group of kinds or owners."""
    if not _needs_split(filters, group_by) or not rows:
        return rows
    extra = _split_counts(filters, group_by)
    if extra:
        names = {"kind": "kind", "owner": "owner_id", "product": "product", "channel": "channel"}
        for row in rows:
            key = tuple(
                row.period if d in PERIODS else getattr(row, names[d]) for d in group_by if d != "project"
            )
            row.orders -= extra.get(key, 0)
    return rows


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
    return _count_once([_row(r) for r in rows], filters, group_by), int(total)


def sales_totals(filters: ReportFilters) -> ReportRow:
    """The sums over every paid order matching the filters."""
    _check(filters, [])
    session = read_session()
    row = session.execute(_query(filters, [])).mappings().one()
    session.rollback()
    return _count_once([_row(row)], filters, [])[0]


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
    return _count_once([_row(r) for r in rows], filters, group_by)
