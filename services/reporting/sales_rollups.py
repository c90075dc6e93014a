"""The sales rollups: what a fulfilment, a late payment or a refund adds, appended as delta rows.

Each fact is written in the transaction that records it, as rows of `sales_rollup_deltas` keyed by
a Beijing day, a project (0: the order as a whole), the order's channel and its product. Rows are
only ever inserted, so buyers paying at the same moment never wait on a shared row; the worker
compacts them into `sales_rollups` (`rollup_compaction`), and the reads sum both (`rollup_reads`).

The figures, and the day each is counted on:

- by the day the order was paid, per project of its lines (the sales report, the payouts' sales):
  `orders` (1 per order and project), `grams`, `gross_fen` (the lines' amounts), `sold_g` (the
  lines' grams once the order is fulfilled), `report_refunded_g` and `report_refunded_fen` (the
  report's view of the order's refunds: every gram once it is refunded in full, and the refunded
  fen spread over the lines in proportion to their amounts, rounded down, the rest to the first);
- by the day a refund succeeded, per project (the payouts' refunds): `refund_g`, `refund_fen`,
  `refund_lines` (its refund lines);
- for the order as a whole (`project_id` 0; the dashboard and the net sales): `paid_orders`,
  `paid_fen` and `orders` (orders with lines) on the paid day, `fulfilled_g` on the fulfilled day,
  `refunds`, `refund_g` and `refund_fen` (the refunds of the order's own payment) on the refund's day.

A refund changes the report's figures of the order's paid day by the difference it makes, so the
rows stay equal to the sums over the orders as they are now (`rollup_rebuild` computes those sums
from the history itself, and `rollup_audit` compares them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, case, exists, func, insert, literal, select, union_all
from sqlalchemy.orm import Session

from models import (
    SALES_FIGURES,
    WHOLE_ORDER,
    Order,
    OrderLine,
    Refund,
    RefundLine,
    SalesRollupDelta,
    SplitOrder,
)
from services.kernel.beijing_time import beijing_date
from services.kernel.order_effects import Fulfilled, Refunded

Key = tuple[date, int, str, str]  # day, project (0: the whole order), channel, product
KEYS = ("day", "project_id", "channel", "product")


def product_of(order: Order) -> str:
    """`one_yuan` for an order of units, `credits` for one of grams."""
    return "credits" if order.units is None else "one_yuan"


def report_refunds(
    lines: Iterable[tuple[int, int, int, int]], refunded_fen: int, amount_fen: int
) -> dict[int, tuple[int, int]]:
    """The report's refunded grams and fen of each line (id, grams, refunded_g, amount_fen) of an
    order of `amount_fen` with `refunded_fen` refunded: all its grams when refunded in full, and
    the fen in proportion to the lines' amounts, rounded down, the rest to the first line."""
    ordered = sorted(lines)
    if not ordered:
        return {}
    full = refunded_fen == amount_fen
    shares = [refunded_fen * amount // amount_fen for _id, _g, _r, amount in ordered]
    shares[0] += refunded_fen - sum(shares)
    return {
        line_id: (grams if full else refunded_g, share)
        for (line_id, grams, refunded_g, _amount), share in zip(ordered, shares, strict=True)
    }


@dataclass
class _Rows:
    """Delta rows being built for one fact, summed per key."""

    channel: str
    product: str
    sums: dict[Key, dict[str, int]]

    @classmethod
    def of(cls, order: Order) -> _Rows:
        return cls(str(getattr(order.channel, "value", order.channel)), product_of(order), {})

    def add(self, day: date, project_id: int, **figures: int) -> None:
        row = self.sums.setdefault((day, project_id, self.channel, self.product), defaultdict(int))
        for name, value in figures.items():
            row[name] += value

    def values(self) -> list[dict[str, Any]]:
        rows = []
        for (day, project_id, channel, product), figures in self.sums.items():
            if any(figures.values()):
                rows.append(
                    {"day": day, "project_id": project_id, "channel": channel, "product": product}
                    | {name: figures.get(name, 0) for name in SALES_FIGURES}
                )
        return rows


def _insert(session: Session, rows: _Rows) -> None:
    values = rows.values()
    if values:
        session.execute(insert(SalesRollupDelta), values)


def _lines(order: Order) -> list[OrderLine]:
    return list(order.lines)


def _paid_in(session: Session, order: Order, fulfilled: bool) -> None:
    """The order was paid (and, when `fulfilled`, fulfilled): its lines and its whole.

    One INSERT … SELECT from the order's lines (nothing refunded yet, so the report's refund
    figures are 0): no read before it; its RETURNING rows say whether the order spans projects.
    """
    if order.refunded_fen:
        return _paid_from_objects(session, order, fulfilled)
    paid_day = beijing_date(order.paid_at)
    channel, product = _Rows.of(order).channel, product_of(order)
    lines = OrderLine.__table__
    keys = (literal(channel).label("channel"), literal(product).label("product"))

    def row(day: date, project: Any, **figures: Any) -> list[Any]:
        return [
            literal(day, Date).label("day"),
            project.label("project_id"),
            *keys,
            *(figures.get(name, literal(0)).label(name) for name in SALES_FIGURES),
        ]

    grams, fen = func.sum(lines.c.grams), func.sum(lines.c.amount_fen)
    per_project = (
        select(
            *row(
                paid_day,
                lines.c.project_id,
                orders=literal(1),
                grams=grams,
                gross_fen=fen,
                sold_g=grams if fulfilled else literal(0),
            )
        )
        .where(lines.c.order_id == order.id)
        .group_by(lines.c.project_id)
    )
    has_lines = case((exists().where(lines.c.order_id == order.id), 1), else_=0)
    same_day = fulfilled and beijing_date(order.fulfilled_at) == paid_day
    whole = select(
        *row(
            paid_day,
            literal(WHOLE_ORDER),
            orders=has_lines,
            paid_orders=literal(1),
            paid_fen=literal(order.amount_fen),
            fulfilled_g=literal(order.grams if same_day else 0),
        )
    )
    parts = [per_project, whole]
    if fulfilled and not same_day:
        parts.append(
            select(
                *row(beijing_date(order.fulfilled_at), literal(WHOLE_ORDER), fulfilled_g=literal(order.grams))
            )
        )
    columns = [*KEYS, *SALES_FIGURES]
    written = session.execute(
        insert(SalesRollupDelta)
        .from_select(columns, union_all(*parts))
        .returning(SalesRollupDelta.project_id)
    ).all()
    projects = sorted({project_id for (project_id,) in written if project_id != WHOLE_ORDER})
    if len(projects) > 1:
        _split(session, order, paid_day, channel, product, projects)


def _split(
    session: Session, order: Order, paid_day: date, channel: str, product: str, projects: list[int]
) -> None:
    session.execute(
        insert(SplitOrder),
        [
            {
                "order_id": order.id,
                "project_id": project_id,
                "day": paid_day,
                "channel": channel,
                "product": product,
            }
            for project_id in projects
        ],
    )


def _paid_from_objects(session: Session, order: Order, fulfilled: bool) -> None:
    """As `_paid_in`, from the order's loaded lines (an order with refunds already: never, today)."""
    rows = _Rows.of(order)
    paid_day = beijing_date(order.paid_at)
    lines = _lines(order)
    refunded = report_refunds(
        ((line.id, line.grams, line.refunded_g, line.amount_fen) for line in lines),
        order.refunded_fen,
        order.amount_fen,
    )
    for project_id in {line.project_id for line in lines}:
        rows.add(paid_day, project_id, orders=1)
    for line in lines:
        grams, fen = refunded[line.id]
        rows.add(
            paid_day,
            line.project_id,
            grams=line.grams,
            gross_fen=line.amount_fen,
            sold_g=line.grams if fulfilled else 0,
            report_refunded_g=grams,
            report_refunded_fen=fen,
        )
    rows.add(paid_day, WHOLE_ORDER, paid_orders=1, paid_fen=order.amount_fen, orders=1 if lines else 0)
    if fulfilled:
        rows.add(beijing_date(order.fulfilled_at), WHOLE_ORDER, fulfilled_g=order.grams)
    _insert(session, rows)
    projects = sorted({line.project_id for line in lines})
    if len(projects) > 1:
        _split(session, order, paid_day, rows.channel, rows.product, projects)


def _refunded_in(session: Session, order: Order, refund: Refund) -> None:
    """A refund of the order's own payment succeeded (its refund lines are recorded)."""
    rows = _Rows.of(order)
    done_day = beijing_date(refund.completed_at)
    rows.add(done_day, WHOLE_ORDER, refunds=1, refund_g=refund.grams, refund_fen=refund.amount_fen)
    returned: dict[int, int] = defaultdict(int)
    for line_id, project_id, grams, fen in session.execute(
        select(RefundLine.order_line_id, OrderLine.project_id, RefundLine.grams, RefundLine.amount_fen)
        .join(OrderLine, OrderLine.id == RefundLine.order_line_id)
        .where(RefundLine.refund_id == refund.id)
    ):
        rows.add(done_day, project_id, refund_g=grams, refund_fen=fen, refund_lines=1)
        returned[line_id] += grams
    lines = _lines(order)
    after = report_refunds(
        ((line.id, line.grams, line.refunded_g, line.amount_fen) for line in lines),
        order.refunded_fen,
        order.amount_fen,
    )
    before = report_refunds(
        ((line.id, line.grams, line.refunded_g - returned[line.id], line.amount_fen) for line in lines),
        order.refunded_fen - refund.amount_fen,
        order.amount_fen,
    )
    paid_day = beijing_date(order.paid_at)
    for line in lines:
        rows.add(
            paid_day,
            line.project_id,
            report_refunded_g=after[line.id][0] - before[line.id][0],
            report_refunded_fen=after[line.id][1] - before[line.id][1],
        )
    _insert(session, rows)


# -- the order effects (wired by the composition root) --


def on_order_fulfilled(session: Session, fact: Fulfilled) -> None:
    """The order effect of a fulfilment: its delta rows, inside the fulfilment's unit of work."""
    _paid_in(session, fact.order, fulfilled=True)


def on_order_refunded(session: Session, fact: Refunded) -> None:
    """The order effect of a refund that succeeded: its delta rows, inside the refund's unit of work."""
    _refunded_in(session, fact.order, fact.refund)


# -- what settlement records without an order effect --


def paid_unfulfilled_in(session: Session, order: Order) -> None:
    """A payment that came too late to be fulfilled (it is refunded at once): counted as paid."""
    _paid_in(session, order, fulfilled=False)


def refunded_without_effect_in(session: Session, order: Order, refund: Refund) -> None:
    """The refund of a payment that came too late succeeded (no order effect runs for it)."""
    _refunded_in(session, order, refund)
