"""Reading the rollups: the compacted rows plus what is not compacted yet, in one statement each.

A sales figure is the sum of its `sales_rollups` rows and its `sales_rollup_deltas` rows, read by
one statement (UNION ALL), so that a compaction committing meanwhile is either wholly seen or not
at all. Orders by state and points by kind are their rollup rows plus the order events and points
entries after the rollup's mark (`RollupMark`), read with the mark in the same statement. What is
read is bounded by the days asked for and by how much the worker has still to compact, never by
the length of the history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Date, Select, Table, cast, func, literal, select, type_coerce, union_all
from sqlalchemy.sql.elements import ColumnElement

from models import (
    SALES_FIGURES,
    WHOLE_ORDER,
    Order,
    OrderEvent,
    OrderStateRollup,
    PointsEntry,
    PointsRollup,
    RollupMark,
    SalesRollup,
    SalesRollupDelta,
)
from models.database import is_postgres, read_session

KEYS = ("day", "project_id", "channel", "product")
ORDER_EVENTS, POINTS_ENTRIES = "order_events", "points_entries"  # the names of the logs' marks


def beijing_day(moment: Any, postgres: bool) -> ColumnElement[date]:
    """The Beijing calendar day of a stored UTC moment, in SQL."""
    if postgres:
        return cast(func.timezone("Asia/Shanghai", moment), Date)
    return type_coerce(func.date(moment, "+8 hours"), Date)


def sales_rows(
    where: Callable[[Table], Sequence[ColumnElement[bool]]], figures: Sequence[str] = SALES_FIGURES
) -> Any:
    """The rollup rows and the deltas that `where(table)` keeps, as one subquery (keys and figures)."""
    parts = [
        select(*(table.c[name] for name in KEYS), *(table.c[name] for name in figures)).where(*where(table))
        for table in (SalesRollup.__table__, SalesRollupDelta.__table__)
    ]
    return union_all(*parts).subquery("rollup")


def _days(table: Table, first: date | None, end: date | None) -> list[ColumnElement[bool]]:
    conditions = []
    if first is not None:
        conditions.append(table.c.day >= first)
    if end is not None:
        conditions.append(table.c.day < end)
    return conditions


def whole_order_days(first: date, end: date, figures: Sequence[str]) -> dict[date, dict[str, int]]:
    """Per day in [first, end): the sums of `figures` over whole orders (every channel and product)."""
    rows = sales_rows(lambda t: [t.c.project_id == WHOLE_ORDER, *_days(t, first, end)], figures=figures)
    query = select(rows.c.day, *(func.sum(rows.c[name]) for name in figures)).group_by(rows.c.day)
    session = read_session()
    found = {
        as_date(day): dict(zip(figures, (int(v or 0) for v in values), strict=True))
        for day, *values in session.execute(query)
    }
    session.rollback()
    return found


def project_sums(first: date, end: date, figures: Sequence[str]) -> dict[int, dict[str, int]]:
    """Per project: the sums of `figures` over the days [first, end)."""
    rows = sales_rows(lambda t: [t.c.project_id != WHOLE_ORDER, *_days(t, first, end)], figures=figures)
    query = select(rows.c.project_id, *(func.sum(rows.c[name]) for name in figures)).group_by(
        rows.c.project_id
    )
    session = read_session()
    found = {
        int(project_id): dict(zip(figures, (int(v or 0) for v in values), strict=True))
        for project_id, *values in session.execute(query)
    }
    session.rollback()
    return found


def _mark(name: str) -> ColumnElement[int]:
    return func.coalesce(
        select(RollupMark.last_id).where(RollupMark.name == name).scalar_subquery(), literal(0)
    )


def order_state_query(
    first: date | None, end: date | None, postgres: bool, mark: int | None = None
) -> Select[Any]:
    """(day created, status, orders, mark) rows: the rollup's, and the order events after its mark
    (`mark`, read before, so that the index of the events is used; checked against the `mark` column)."""
    rollup = OrderStateRollup.__table__
    events, orders = OrderEvent.__table__, Order.__table__
    day = beijing_day(orders.c.created_at, postgres)
    tail = events.join(orders, orders.c.id == events.c.order_id)
    after = [events.c.id > (_mark(ORDER_EVENTS) if mark is None else literal(mark))]
    if first is not None:
        after.append(day >= first)
    if end is not None:
        after.append(day < end)
    rows = union_all(
        select(rollup.c.day, rollup.c.status, rollup.c.orders).where(*_days(rollup, first, end)),
        select(day.label("day"), events.c.to_status.label("status"), literal(1).label("orders"))
        .select_from(tail)
        .where(*after),
        select(day.label("day"), events.c.from_status.label("status"), literal(-1).label("orders"))
        .select_from(tail)
        .where(*after, events.c.from_status.is_not(None)),
    ).subquery("states")
    return select(
        rows.c.day, rows.c.status, func.sum(rows.c.orders), _mark(ORDER_EVENTS).label("mark")
    ).group_by(rows.c.day, rows.c.status)


def points_query(
    first: date | None, end: date | None, postgres: bool, mark: int | None = None
) -> Select[Any]:
    """(day, kind, points, mark) rows: the rollup's, and the points entries after its mark (as above)."""
    rollup, entries = PointsRollup.__table__, PointsEntry.__table__
    day = beijing_day(entries.c.created_at, postgres)
    after = [entries.c.id > (_mark(POINTS_ENTRIES) if mark is None else literal(mark))]
    if first is not None:
        after.append(day >= first)
    if end is not None:
        after.append(day < end)
    rows = union_all(
        select(rollup.c.day, rollup.c.kind, rollup.c.points).where(*_days(rollup, first, end)),
        select(day.label("day"), entries.c.kind.label("kind"), entries.c.points.label("points")).where(
            *after
        ),
    ).subquery("points")
    return select(
        rows.c.day, rows.c.kind, func.sum(rows.c.points), _mark(POINTS_ENTRIES).label("mark")
    ).group_by(rows.c.day, rows.c.kind)


def _with_mark(name: str, query: Callable[[int | None], Select[Any]]) -> list[Any]:
    """Rows of `query(mark)`, the mark read first; again if a compaction moved it meanwhile."""
    session = read_session()
    try:
        for _attempt in range(3):
            mark = int(session.scalar(select(_mark(name))) or 0)
            rows = session.execute(query(mark)).all()
            if all(int(row[-1] or 0) == mark for row in rows):
                return [row[:-1] for row in rows]
        return [row[:-1] for row in session.execute(query(None)).all()]
    finally:
        session.rollback()


def order_states(first: date, end: date) -> list[tuple[date, str, int]]:
    """Orders created on each day of [first, end), by their state now (states with none left out)."""
    postgres = is_postgres()
    rows = _with_mark(ORDER_EVENTS, lambda mark: order_state_query(first, end, postgres, mark))
    return [(as_date(day), str(status), int(n)) for day, status, n in rows if n]


def points_by_day(first: date, end: date) -> list[tuple[date, str, int]]:
    """Points entered on each day of [first, end), by kind."""
    postgres = is_postgres()
    rows = _with_mark(POINTS_ENTRIES, lambda mark: points_query(first, end, postgres, mark))
    return [(as_date(day), getattr(kind, "value", str(kind)), int(n or 0)) for day, kind, n in rows]


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
