"""The rollups built from the history itself: the backfill of an upgrade, `flask rollups rebuild`, the audit.

`sales_detail` computes, from orders, order lines, refunds and refund lines, exactly the sums the
delta rows of `sales_rollups` add up to (each figure as that module defines it); `rebuild_in`
replaces every rollup with them by INSERT … SELECT. The order states are built from the order
events (each adds one order to its new state and takes it from the one it left; an order of an
old database without events counts in its state), the points from the points entries, both up to
a mark that later compactions carry on from.

On PostgreSQL the command runs the rebuild in one REPEATABLE READ snapshot, holding the compaction's
lock: a fulfilment committing meanwhile is in its delta row and not in the snapshot, so it counts once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Numeric,
    Select,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from models import (
    SALES_FIGURES,
    WHOLE_ORDER,
    Order,
    OrderEvent,
    OrderLine,
    OrderStateRollup,
    PointsEntry,
    PointsRollup,
    Refund,
    RefundLine,
    RefundStatus,
    RollupMark,
    SalesRollup,
    SalesRollupDelta,
    SplitOrder,
    utcnow,
)
from services.reporting.rollup_reads import KEYS, ORDER_EVENTS, POINTS_ENTRIES, beijing_day

Bind = Session | Connection


def _postgres(bind: Bind) -> bool:
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name == "postgresql"


def _product(orders: Any) -> Any:
    return case((orders.c.units.is_(None), literal("credits")), else_=literal("one_yuan"))


def _share(refunded: Any, amount: Any, total: Any, postgres: bool) -> Any:
    """refunded × amount ÷ total, rounded down, in integers (numeric on PostgreSQL: no overflow)."""
    if postgres:
        return cast(func.div(cast(refunded, Numeric) * amount, total), BigInteger)
    return (refunded * amount) // total


def _part(day: Any, project_id: Any, channel: Any, product: Any, **figures: Any) -> list[Any]:
    return [
        day.label("day"),
        project_id.label("project_id"),
        channel.label("channel"),
        product.label("product"),
        *((figures.get(name, literal(0))).label(name) for name in SALES_FIGURES),
    ]


def sales_detail(postgres: bool) -> Select[Any]:
    """Every sales rollup row as the history gives it: (day, project_id, channel, product, figures…)."""
    o, line = Order.__table__, OrderLine.__table__
    r, rl = Refund.__table__, RefundLine.__table__
    product = _product(o)
    share = _share(o.c.refunded_fen, line.c.amount_fen, o.c.amount_fen, postgres)
    first_line = func.row_number().over(partition_by=line.c.order_id, order_by=line.c.id) == 1
    remainder = o.c.refunded_fen - func.sum(share).over(partition_by=line.c.order_id)
    facts = (
        select(
            line.c.order_id,
            line.c.project_id,
            beijing_day(o.c.paid_at, postgres).label("day"),
            o.c.channel,
            product.label("product"),
            line.c.grams,
            line.c.amount_fen,
            case((o.c.fulfilled_at.is_not(None), line.c.grams), else_=0).label("sold_g"),
            case((o.c.refunded_fen == o.c.amount_fen, line.c.grams), else_=line.c.refunded_g).label(
                "report_refunded_g"
            ),
            (share + case((first_line, remainder), else_=0)).label("report_refunded_fen"),
        )
        .select_from(line.join(o, o.c.id == line.c.order_id))
        .where(o.c.paid_at.is_not(None))
        .subquery("facts")
    )
    f = facts.c
    by_order_project = (
        select(
            f.day,
            f.project_id,
            f.channel,
            f.product,
            func.sum(f.grams).label("grams"),
            func.sum(f.amount_fen).label("gross_fen"),
            func.sum(f.sold_g).label("sold_g"),
            func.sum(f.report_refunded_g).label("report_refunded_g"),
            func.sum(f.report_refunded_fen).label("report_refunded_fen"),
        )
        .group_by(f.order_id, f.day, f.project_id, f.channel, f.product)
        .subquery("by_order_project")
    )
    b = by_order_project.c
    lines_part = select(
        *_part(
            b.day,
            b.project_id,
            b.channel,
            b.product,
            orders=literal(1),
            grams=b.grams,
            gross_fen=b.gross_fen,
            sold_g=b.sold_g,
            report_refunded_g=b.report_refunded_g,
            report_refunded_fen=b.report_refunded_fen,
        )
    )
    succeeded = r.c.status == RefundStatus.SUCCEEDED.value
    refund_lines_part = (
        select(
            *_part(
                beijing_day(r.c.completed_at, postgres),
                line.c.project_id,
                o.c.channel,
                product,
                refund_g=rl.c.grams,
                refund_fen=rl.c.amount_fen,
                refund_lines=literal(1),
            )
        )
        .select_from(
            rl.join(r, r.c.id == rl.c.refund_id)
            .join(line, line.c.id == rl.c.order_line_id)
            .join(o, o.c.id == line.c.order_id)
        )
        .where(succeeded)
    )
    has_lines = exists().where(line.c.order_id == o.c.id)
    paid_part = select(
        *_part(
            beijing_day(o.c.paid_at, postgres),
            literal(WHOLE_ORDER),
            o.c.channel,
            product,
            orders=case((has_lines, 1), else_=0),
            paid_orders=literal(1),
            paid_fen=o.c.amount_fen,
        )
    ).where(o.c.paid_at.is_not(None))
    fulfilled_part = select(
        *_part(
            beijing_day(o.c.fulfilled_at, postgres),
            literal(WHOLE_ORDER),
            o.c.channel,
            product,
            fulfilled_g=o.c.grams,
        )
    ).where(o.c.fulfilled_at.is_not(None))
    refunds_part = (
        select(
            *_part(
                beijing_day(r.c.completed_at, postgres),
                literal(WHOLE_ORDER),
                o.c.channel,
                product,
                refunds=literal(1),
                refund_g=r.c.grams,
                refund_fen=r.c.amount_fen,
            )
        )
        .select_from(r.join(o, o.c.id == r.c.order_id))
        .where(succeeded, r.c.transaction_id.is_(None))
    )
    every = union_all(lines_part, refund_lines_part, paid_part, fulfilled_part, refunds_part).subquery(
        "every"
    )
    keys = [every.c[name] for name in KEYS]
    return select(*keys, *(func.sum(every.c[name]).label(name) for name in SALES_FIGURES)).group_by(*keys)


def split_detail(postgres: bool) -> Select[Any]:
    """Every (order, project) of a paid order whose lines come from two or more projects."""
    o, line = Order.__table__, OrderLine.__table__
    split = (
        select(line.c.order_id)
        .group_by(line.c.order_id)
        .having(func.count(func.distinct(line.c.project_id)) > 1)
    )
    return (
        select(
            line.c.order_id,
            line.c.project_id,
            beijing_day(o.c.paid_at, postgres).label("day"),
            o.c.channel,
            _product(o).label("product"),
        )
        .select_from(line.join(o, o.c.id == line.c.order_id))
        .where(o.c.paid_at.is_not(None), line.c.order_id.in_(split))
        .distinct()
    )


def order_states_upto(upto: int, postgres: bool) -> Select[Any]:
    """(day created, status, orders): the order events up to id `upto`, and the orders without events."""
    events, o = OrderEvent.__table__, Order.__table__
    day = beijing_day(o.c.created_at, postgres)
    joined = events.join(o, o.c.id == events.c.order_id)
    rows = union_all(
        select(day.label("day"), events.c.to_status.label("status"), literal(1).label("n"))
        .select_from(joined)
        .where(events.c.id <= upto),
        select(day.label("day"), events.c.from_status.label("status"), literal(-1).label("n"))
        .select_from(joined)
        .where(events.c.id <= upto, events.c.from_status.is_not(None)),
        select(day.label("day"), o.c.status.label("status"), literal(1).label("n")).where(
            ~exists().where(events.c.order_id == o.c.id)
        ),
    ).subquery("states")
    total = func.sum(rows.c.n)
    return (
        select(rows.c.day, rows.c.status, total.label("orders"))
        .group_by(rows.c.day, rows.c.status)
        .having(total != 0)
    )


def points_upto(upto: int, postgres: bool) -> Select[Any]:
    """(day, kind, points) of the points entries up to id `upto`."""
    entries = PointsEntry.__table__
    day = beijing_day(entries.c.created_at, postgres)
    return (
        select(day.label("day"), entries.c.kind, func.sum(entries.c.points).label("points"))
        .where(entries.c.id <= upto)
        .group_by(day, entries.c.kind)
    )


@dataclass(frozen=True)
class Rebuilt:
    sales_rows: int
    split_orders: int
    state_rows: int
    points_rows: int
    order_events_mark: int
    points_entries_mark: int


def _count(bind: Bind, table: Any) -> int:
    return int(bind.execute(select(func.count()).select_from(table)).scalar() or 0)


def _settled(bind: Bind, table: Any, moment: Any, horizon: datetime) -> int:
    return int(bind.execute(select(func.max(table.c.id)).where(moment < horizon)).scalar() or 0)


def rebuild_in(bind: Bind, now: datetime | None = None) -> Rebuilt:
    """Replace every rollup with what the history gives, inside the caller's transaction."""
    from services.reporting.rollup_compaction import SETTLE

    postgres = _postgres(bind)
    horizon = (now or utcnow()) - SETTLE
    for table in (SalesRollupDelta, SalesRollup, SplitOrder, OrderStateRollup, PointsRollup, RollupMark):
        bind.execute(delete(table.__table__))
    detail = sales_detail(postgres).subquery("detail")
    bind.execute(
        insert(SalesRollup.__table__).from_select(
            [*KEYS, *SALES_FIGURES], select(*(detail.c[name] for name in (*KEYS, *SALES_FIGURES)))
        )
    )
    split = split_detail(postgres).subquery("split")
    names = ("order_id", "project_id", "day", "channel", "product")
    bind.execute(insert(SplitOrder.__table__).from_select(list(names), select(*(split.c[n] for n in names))))
    events_mark = _settled(bind, OrderEvent.__table__, OrderEvent.__table__.c.at, horizon)
    points_mark = _settled(bind, PointsEntry.__table__, PointsEntry.__table__.c.created_at, horizon)
    states = order_states_upto(events_mark, postgres).subquery("states")
    bind.execute(
        insert(OrderStateRollup.__table__).from_select(
            ["day", "status", "orders"], select(states.c.day, states.c.status, states.c.orders)
        )
    )
    points = points_upto(points_mark, postgres).subquery("points")
    bind.execute(
        insert(PointsRollup.__table__).from_select(
            ["day", "kind", "points"], select(points.c.day, points.c.kind, points.c.points)
        )
    )
    moment = now or utcnow()
    bind.execute(
        insert(RollupMark.__table__),
        [
            {"name": ORDER_EVENTS, "last_id": events_mark, "folded_at": moment},
            {"name": POINTS_ENTRIES, "last_id": points_mark, "folded_at": moment},
        ],
    )
    return Rebuilt(
        sales_rows=_count(bind, SalesRollup.__table__),
        split_orders=_count(bind, SplitOrder.__table__),
        state_rows=_count(bind, OrderStateRollup.__table__),
        points_rows=_count(bind, PointsRollup.__table__),
        order_events_mark=events_mark,
        points_entries_mark=points_mark,
    )


def rebuild(now: datetime | None = None) -> Rebuilt:
    """`flask rollups rebuild`: every rollup from the history, in one snapshot, compaction held off."""
    from models.database import db_session, serialize_in, unit_of_work
    from services.reporting.rollup_compaction import LOCK

    db_session.remove()
    with unit_of_work() as session:
        if _postgres(session):
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        serialize_in(session, LOCK)
        return rebuild_in(session, now)
