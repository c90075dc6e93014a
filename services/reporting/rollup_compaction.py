"""Compaction: the worker folds the sales deltas, the order events and the points entries into day rows.

One compaction at a time (an advisory lock on PostgreSQL; SQLite has one writer anyway), in one
transaction per step:

- sales: up to `batch` delta rows are read, summed per key, added to their `sales_rollups` rows
  and deleted by id, so a delta committed meanwhile is left for the next run;
- the logs (`order_events`, `points_entries`): the rows after the log's mark up to the last one
  made more than `SETTLE` ago are added to their day rows and the mark moves past them. A row
  younger than that (its transaction may still be open) stays in the tail the reads add up; on
  PostgreSQL a log waits while any transaction older than `SETTLE` is still open.

Nothing here touches a row the purchase path writes: buyers never wait on compaction.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import (
    SALES_FIGURES,
    Order,
    OrderEvent,
    OrderStateRollup,
    PointsEntry,
    PointsRollup,
    RollupMark,
    SalesRollup,
    SalesRollupDelta,
    utcnow,
)
from models.database import serialize_in, unit_of_work
from services.reporting.rollup_reads import KEYS, ORDER_EVENTS, POINTS_ENTRIES, beijing_day

log = logging.getLogger(__name__)

SETTLE = timedelta(minutes=10)  # how old a log row must be before it is folded in
BATCH = 20_000
LOCK = "rollup compaction"
_DELETE_CHUNK = 1_000


@dataclass(frozen=True)
class Compacted:
    deltas: int  # sales delta rows folded into day rows
    rows: int  # sales day rows they touched
    order_events: int  # order events folded in
    points_entries: int  # points entries folded in
    more: bool  # deltas were left for the next run (more than one batch)


def add_to(session: Session, table: Table, keys: Iterable[str], rows: list[dict[str, Any]]) -> None:
    """Add each row's figures to the row of `table` with the same keys (inserting it when missing)."""
    if not rows:
        return
    keys = list(keys)
    figures = [name for name in rows[0] if name not in keys]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: table.c[name] + statement.excluded[name] for name in figures},
    )
    session.execute(statement, rows)


def mark_of(session: Session, name: str, lock: bool = False) -> RollupMark:
    """A log's mark (made at 0 when missing)."""
    query = select(RollupMark).where(RollupMark.name == name)
    mark = session.scalar(query.with_for_update() if lock else query)
    if mark is None:
        mark = RollupMark(name=name, last_id=0, folded_at=utcnow())
        session.add(mark)
        session.flush()
    return mark


def _sales(batch: int) -> tuple[int, int, bool]:
    with unit_of_work() as session:
        serialize_in(session, LOCK)
        deltas = session.execute(
            select(SalesRollupDelta.__table__).order_by(SalesRollupDelta.id).limit(batch + 1)
        ).all()
        more = len(deltas) > batch
        deltas = deltas[:batch]
        sums: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: dict.fromkeys(SALES_FIGURES, 0))
        for row in deltas:
            figures = sums[tuple(getattr(row, key) for key in KEYS)]
            for name in SALES_FIGURES:
                figures[name] += getattr(row, name)
        add_to(
            session,
            SalesRollup.__table__,
            KEYS,
            [dict(zip(KEYS, key, strict=True)) | figures for key, figures in sums.items()],
        )
        ids = [row.id for row in deltas]
        for start in range(0, len(ids), _DELETE_CHUNK):
            chunk = ids[start : start + _DELETE_CHUNK]
            session.execute(delete(SalesRollupDelta).where(SalesRollupDelta.id.in_(chunk)))
        return len(deltas), len(sums), more


def _old_transactions_open(session: Session, horizon: datetime) -> bool:
    """PostgreSQL: is another transaction open since before `horizon` (it may still write log rows)?"""
    if session.get_bind().dialect.name != "postgresql":
        return False
    return bool(
        session.scalar(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                " AND xact_start IS NOT NULL AND xact_start < :horizon)"
            ),
            {"horizon": horizon},
        )
    )


def settled_id(session: Session, table: Table, moment: Any, after: int, horizon: datetime) -> int:
    """The last id of `table` after `after` whose row was made before `horizon` (or `after`)."""
    found = session.scalar(select(func.max(table.c.id)).where(table.c.id > after, moment < horizon))
    return int(found or after)


def fold_order_events(session: Session, after: int, upto: int, postgres: bool) -> int:
    """Add the order events (after, upto] to the orders-by-state rows; gives how many there were."""
    events, orders = OrderEvent.__table__, Order.__table__
    day = beijing_day(orders.c.created_at, postgres)
    joined = events.join(orders, orders.c.id == events.c.order_id)
    window = (events.c.id > after, events.c.id <= upto)
    sums: dict[tuple[Any, str], int] = defaultdict(int)
    count = 0
    for column, sign in ((events.c.to_status, 1), (events.c.from_status, -1)):
        for day_value, status, n in session.execute(
            select(day, column, func.count())
            .select_from(joined)
            .where(*window, column.is_not(None))
            .group_by(day, column)
        ):
            sums[(day_value, status)] += sign * int(n)
            count += int(n) if sign > 0 else 0
    add_to(
        session,
        OrderStateRollup.__table__,
        ("day", "status"),
        [{"day": d, "status": s, "orders": n} for (d, s), n in sums.items() if n],
    )
    return count


def fold_points(session: Session, after: int, upto: int, postgres: bool) -> int:
    """Add the points entries (after, upto] to the points-by-day rows; gives how many there were."""
    entries = PointsEntry.__table__
    day = beijing_day(entries.c.created_at, postgres)
    rows = session.execute(
        select(day, entries.c.kind, func.sum(entries.c.points), func.count())
        .where(entries.c.id > after, entries.c.id <= upto)
        .group_by(day, entries.c.kind)
    ).all()
    add_to(
        session,
        PointsRollup.__table__,
        ("day", "kind"),
        [{"day": d, "kind": getattr(k, "value", str(k)), "points": int(p or 0)} for d, k, p, _n in rows],
    )
    return sum(int(n) for *_rest, n in rows)


def _log(name: str, now: datetime) -> int:
    table, moment, fold = {
        ORDER_EVENTS: (OrderEvent.__table__, OrderEvent.__table__.c.at, fold_order_events),
        POINTS_ENTRIES: (PointsEntry.__table__, PointsEntry.__table__.c.created_at, fold_points),
    }[name]
    horizon = now - SETTLE
    with unit_of_work() as session:
        serialize_in(session, LOCK)
        if _old_transactions_open(session, horizon):
            log.warning("rollups: a transaction open for over %s; %s wait", SETTLE, name)
            return 0
        mark = mark_of(session, name, lock=True)
        upto = settled_id(session, table, moment, mark.last_id, horizon)
        if upto <= mark.last_id:
            return 0
        folded = fold(session, mark.last_id, upto, session.get_bind().dialect.name == "postgresql")
        mark.last_id, mark.folded_at = upto, now
        return folded


def compact(batch: int = BATCH, now: datetime | None = None) -> Compacted:
    """One compaction: a batch of sales deltas, then what the logs have settled."""
    moment = now or utcnow()
    deltas, rows, more = _sales(batch)
    return Compacted(
        deltas=deltas,
        rows=rows,
        order_events=_log(ORDER_EVENTS, moment),
        points_entries=_log(POINTS_ENTRIES, moment),
        more=more,
    )


def compact_all(now: datetime | None = None) -> Compacted:
    """Compact until no delta is left (the command line, the tests)."""
    total = Compacted(0, 0, 0, 0, True)
    while total.more:
        step = compact(now=now)
        total = Compacted(
            total.deltas + step.deltas,
            total.rows + step.rows,
            total.order_events + step.order_events,
            total.points_entries + step.points_entries,
            step.more,
        )
    return total
