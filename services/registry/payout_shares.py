"""The parts of a period's money that are not simply a project owner's credit sales.

- **The state's share of land-use compensations** (`models.LandCompensation`): a compensation's fee
  is an ordinary credit order, so its lines pay the project's owner; `state_fen` of it (fixed when
  the compensation was made) belongs to the state instead. A refund gives back the same share of
  what it repays: after refunds of c fen in all of an order of a fen whose state part is s, the
  state has repaid floor(c x s / a), so each refund's state part is the difference that refund
  makes, and a full refund repays exactly s. The state's parts come off the owner's row of the
  same project, so the period's payouts still add up to its net sales.
- **Donations for adopted trees** (`models.Adoption`): a donation order has no lines; its money is
  the memorial forest's owner's, on a cash basis like a sale (paid in the period, refunds completed
  in the period).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Adoption,
    Channel,
    ForestPlot,
    LandCompensation,
    MemorialForest,
    Order,
    Refund,
    RefundStatus,
)


class Span(Protocol):
    start: datetime
    end: datetime


def _within(column, period: Span):
    return (column >= period.start) & (column < period.end)


def _own_refunds():
    """Succeeded refunds of an order's own payment (a second payment's refund was never counted in)."""
    return (Refund.status == RefundStatus.SUCCEEDED) & Refund.transaction_id.is_(None)


def state_shares(session: Session, period: Span) -> dict[int, list[int]]:
    """project_id → [state's part of compensation fees paid, state's part of their refunds] in the period."""
    shares: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for project_id, state_fen in session.execute(
        select(LandCompensation.project_id, LandCompensation.state_fen)
        .join(Order, Order.id == LandCompensation.order_id)
        .where(_within(Order.paid_at, period))
    ):
        shares[project_id][0] += state_fen
    refunded = session.execute(
        select(
            LandCompensation.project_id,
            LandCompensation.state_fen,
            LandCompensation.amount_fen,
            Refund.order_id,
            Refund.amount_fen,
            Refund.completed_at,
        )
        .join(Order, Order.id == LandCompensation.order_id)
        .join(Refund, Refund.order_id == Order.id)
        .where(_own_refunds(), Order.id.in_(_orders_refunded_in(period)))
        .order_by(Refund.order_id, Refund.completed_at, Refund.id)
    ).all()
    repaid: dict[int, int] = defaultdict(int)  # order → fen refunded so far
    for project_id, state_fen, amount, order_id, fen, completed_at in refunded:
        before = repaid[order_id] * state_fen // amount
        repaid[order_id] += fen
        if period.start <= completed_at < period.end:
            shares[project_id][1] += repaid[order_id] * state_fen // amount - before
    return dict(shares)


def _orders_refunded_in(period: Span):
    return select(Refund.order_id).where(_own_refunds(), _within(Refund.completed_at, period))


def donations(session: Session, period: Span) -> dict[int, list[int]]:
    """forest_id → [donations paid, donations refunded] in the period."""
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    forest = (
        select(Adoption.order_id, ForestPlot.forest_id)
        .join(ForestPlot, ForestPlot.id == Adoption.plot_id)
        .subquery()
    )
    for forest_id, fen in session.execute(
        select(forest.c.forest_id, Order.amount_fen)
        .join(forest, forest.c.order_id == Order.id)
        .where(Order.channel == Channel.ADOPTION, _within(Order.paid_at, period))
    ):
        totals[forest_id][0] += fen
    for forest_id, fen in session.execute(
        select(forest.c.forest_id, Refund.amount_fen)
        .join(Order, Order.id == Refund.order_id)
        .join(forest, forest.c.order_id == Order.id)
        .where(Order.channel == Channel.ADOPTION, _own_refunds(), _within(Refund.completed_at, period))
    ):
        totals[forest_id][1] += fen
    return dict(totals)


def forests(session: Session, forest_ids: list[int]) -> dict[int, MemorialForest]:
    """The memorial forests named, with their owners."""
    if not forest_ids:
        return {}
    return {f.id: f for f in session.scalars(select(MemorialForest).where(MemorialForest.id.in_(forest_ids)))}
