"""The check of the rollups (`flask rollups check`): what the reads add up equals what the history gives.

For every sales rollup key, the compacted rows plus the deltas equal the sums over the orders,
lines, refunds and refund lines (`rollup_rebuild.sales_detail`); the split orders are those the
lines say; orders by the day they were created and their state, and points by day and kind, are
what the orders and the points entries say now. It yields (rule, subject, message) triples, at most
`SHOWN` per rule and then how many more there were; `flask rollups rebuild` repairs the rollups.
(It is not one of the pool audit's checks: an order edited by hand in SQL, as tests and repairs do,
moves no rollup until the next rebuild.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import SALES_FIGURES, Order, PointsEntry, SplitOrder
from services.reporting.rollup_reads import (
    KEYS,
    as_date,
    beijing_day,
    order_state_query,
    points_query,
    sales_rows,
)
from services.reporting.rollup_rebuild import sales_detail, split_detail

Finding = tuple[str, str, str]
SHOWN = 20


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _key(values: Any) -> tuple[Any, ...]:
    day, *rest = values
    return (as_date(day), *(int(v) if isinstance(v, int) else str(v) for v in rest))


def _sales(session: Session) -> Iterator[Finding]:
    rows = sales_rows(lambda _table: [])
    keys = [rows.c[name] for name in KEYS]
    kept = {
        _key(row[:4]): tuple(int(v or 0) for v in row[4:])
        for row in session.execute(
            select(*keys, *(func.sum(rows.c[name]) for name in SALES_FIGURES)).group_by(*keys)
        )
    }
    given = {
        _key(row[:4]): tuple(int(v or 0) for v in row[4:])
        for row in session.execute(sales_detail(_postgres(session)))
    }
    zero = (0,) * len(SALES_FIGURES)
    for key in sorted(set(kept) | set(given), key=str):
        have, want = kept.get(key, zero), given.get(key, zero)
        if have != want:
            differ = {name: (h, w) for name, h, w in zip(SALES_FIGURES, have, want, strict=True) if h != w}
            yield (
                "rollup-sales",
                f"{key[0]} project {key[1]} {key[2]} {key[3]}",
                "rollup != history: " + ", ".join(f"{n} {h} != {w}" for n, (h, w) in differ.items()),
            )


def _split(session: Session) -> Iterator[Finding]:
    table = SplitOrder.__table__
    names = ("order_id", "project_id", "day", "channel", "product")
    kept = {
        (int(r[0]), int(r[1]), as_date(r[2]), str(r[3]), str(r[4]))
        for r in session.execute(select(*(table.c[n] for n in names)))
    }
    given = {
        (int(r[0]), int(r[1]), as_date(r[2]), str(r[3]), str(r[4]))
        for r in session.execute(split_detail(_postgres(session)))
    }
    for row in sorted(kept ^ given):
        where = "kept but not in the lines" if row in kept else "in the lines but not kept"
        yield ("rollup-split-orders", f"order {row[0]} project {row[1]}", where)


def _states(session: Session) -> Iterator[Finding]:
    postgres = _postgres(session)
    kept = {
        (as_date(day), str(status)): int(n)
        for day, status, n, _mark in session.execute(order_state_query(None, None, postgres))
        if n
    }
    day = beijing_day(Order.__table__.c.created_at, postgres)
    given = {
        (as_date(d), getattr(status, "value", str(status))): int(n)
        for d, status, n in session.execute(
            select(day, Order.__table__.c.status, func.count()).group_by(day, Order.__table__.c.status)
        )
    }
    for key in sorted(set(kept) | set(given), key=str):
        if kept.get(key, 0) != given.get(key, 0):
            yield (
                "rollup-order-states",
                f"{key[0]} {key[1]}",
                f"rollup counts {kept.get(key, 0)} orders but the orders are {given.get(key, 0)}",
            )


def _points(session: Session) -> Iterator[Finding]:
    postgres = _postgres(session)
    kept = {
        (as_date(day), getattr(kind, "value", str(kind))): int(p or 0)
        for day, kind, p, _mark in session.execute(points_query(None, None, postgres))
    }
    entries = PointsEntry.__table__
    day = beijing_day(entries.c.created_at, postgres)
    given = {
        (as_date(d), getattr(kind, "value", str(kind))): int(p or 0)
        for d, kind, p in session.execute(
            select(day, entries.c.kind, func.sum(entries.c.points)).group_by(day, entries.c.kind)
        )
    }
    for key in sorted(set(kept) | set(given), key=str):
        if kept.get(key, 0) != given.get(key, 0):
            yield (
                "rollup-points",
                f"{key[0]} {key[1]}",
                f"rollup sums {kept.get(key, 0)} points but the entries {given.get(key, 0)}",
            )


def check(session: Session) -> Iterator[Finding]:
    for rule in (_sales, _split, _states, _points):
        shown = 0
        for finding in rule(session):
            shown += 1
            if shown <= SHOWN:
                yield finding
        if shown > SHOWN:
            yield (finding[0], "rollups", f"and {shown - SHOWN} more like these")


def run_check() -> Iterator[Finding]:
    """The check in a read-only transaction of its own."""
    from models.database import read_session

    session = read_session()
    try:
        yield from check(session)
    finally:
        session.rollback()
