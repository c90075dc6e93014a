"""Pool-audit checks of sold reductions: every gram counted once, every fen and point accounted for.

Registered with the pool audit when imported (the composition root imports this module):
- a batch's grams and actions are what its members say; each member is an accepted action of the
  batch's month and methodology with at least the grams the batch counted (an action is in one
  batch at most: a unique key on the members' action id);
- an issued batch has its pool batch, of the carbon-inclusion kind, issued with exactly its grams
  (at most the batch's); a batch not issued has none;
- every order line that sold grams of such a pool batch, of an order still (partly) sold, has one
  standing sale with the line's grams and fen after refunds, and a line with nothing left has none;
- a sale's contributors' parts add up to its grams and its points exactly, and its operator and
  distributable fen to its amount;
- the points ledger agrees: each part with points is one earn entry of the sale's source, reversed
  when the sale was.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    Action,
    ActionStatus,
    Batch,
    Order,
    OrderLine,
    OrderStatus,
    PointsEntry,
    PointsKind,
    PointsSource,
    Project,
    ReductionBatch,
    ReductionBatchAction,
    ReductionBatchStatus,
    ReductionProceeds,
    ReductionSale,
    RefundLine,
)
from services.kernel import beijing_time
from services.pool.pool_audit import Violation, register_check
from services.reductions.issuance import KIND_CODE

STILL_SOLD = (OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED)


def _members(session: Session) -> Iterator[Violation]:
    totals = {
        batch_id: (int(grams), int(count))
        for batch_id, grams, count in session.execute(
            select(
                ReductionBatchAction.batch_id, func.sum(ReductionBatchAction.grams), func.count()
            ).group_by(ReductionBatchAction.batch_id)
        )
    }
    for batch in session.scalars(select(ReductionBatch).order_by(ReductionBatch.id)):
        subject = f"reduction batch {batch.id}"
        grams, count = totals.get(batch.id, (0, 0))
        if (grams, count) != (batch.grams, batch.actions):
            yield Violation(
                "reduction-members",
                subject,
                f"counts {batch.grams} g in {batch.actions} actions but its members hold {grams} g in {count}",
            )
    rows = session.execute(
        select(ReductionBatchAction, Action, ReductionBatch)
        .join(ReductionBatch, ReductionBatch.id == ReductionBatchAction.batch_id)
        .join(Action, Action.id == ReductionBatchAction.action_id)
        .order_by(ReductionBatchAction.id)
    ).yield_per(5000)
    for member, action, batch in rows:
        subject = f"reduction batch {batch.id}"
        month_end = beijing_time.add_months(batch.month, 1)
        if action.status != ActionStatus.ACCEPTED:
            yield Violation("reduction-action", subject, f"action {action.id} is {action.status.value}")
        if action.reduction_g < member.grams:
            yield Violation(
                "reduction-action",
                subject,
                f"counts {member.grams} g of action {action.id}, which has {action.reduction_g} g credited",
            )
        if not batch.month <= action.date < month_end or action.methodology != batch.methodology:
            yield Violation(
                "reduction-action",
                subject,
                f"action {action.id} ({action.date}, {action.methodology}) is not of "
                f"{batch.month:%Y-%m} {batch.methodology}",
            )
        if member.user_id != action.user_id:
            yield Violation("reduction-action", subject, f"action {action.id} is credited to another user")


def _issuance(session: Session) -> Iterator[Violation]:
    rows = session.execute(
        select(ReductionBatch, Batch, Project)
        .outerjoin(Batch, Batch.id == ReductionBatch.pool_batch_id)
        .outerjoin(Project, Project.id == Batch.project_id)
        .order_by(ReductionBatch.id)
    )
    for batch, pool_batch, project in rows:
        subject = f"reduction batch {batch.id}"
        if batch.status != ReductionBatchStatus.ISSUED:
            if batch.pool_batch_id is not None:
                yield Violation("reduction-issue", subject, f"is {batch.status.value} but has pool batch")
            continue
        if pool_batch is None:
            yield Violation("reduction-issue", subject, "is issued but has no pool batch")
            continue
        if pool_batch.issued_g != batch.issued_g or (batch.issued_g or 0) > batch.grams:
            yield Violation(
                "reduction-issue",
                subject,
                f"issued {batch.issued_g} g of {batch.grams} g, pool batch {pool_batch.id} holds {pool_batch.issued_g} g",
            )
        if project.kind_code != KIND_CODE:
            yield Violation(
                "reduction-issue", subject, f"pool batch {pool_batch.id} is of kind {project.kind_code}"
            )


def _sales(session: Session) -> Iterator[Violation]:
    repaid = dict(
        session.execute(
            select(RefundLine.order_line_id, func.sum(RefundLine.amount_fen)).group_by(
                RefundLine.order_line_id
            )
        ).all()
    )
    standing: dict[int, list[ReductionSale]] = defaultdict(list)
    for sale in session.scalars(select(ReductionSale).where(ReductionSale.reversed_at.is_(None))):
        standing[sale.order_line_id].append(sale)
    lines = session.execute(
        select(OrderLine, Order.status, ReductionBatch.id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(ReductionBatch, ReductionBatch.pool_batch_id == OrderLine.batch_id)
        .order_by(OrderLine.id)
    ).yield_per(5000)
    seen: set[int] = set()
    for line, status, batch_id in lines:
        seen.add(line.id)
        subject = f"order line {line.id}"
        sales = standing.get(line.id, [])
        grams, fen = line.grams - line.refunded_g, line.amount_fen - int(repaid.get(line.id) or 0)
        sold = status in STILL_SOLD and (grams > 0 or fen > 0)
        if not sold:
            if sales:
                yield Violation(
                    "reduction-sale", subject, f"nothing of it is sold, yet sale {sales[0].id} stands"
                )
            continue
        if len(sales) != 1:
            yield Violation(
                "reduction-sale", subject, f"{len(sales)} standing sales of its reductions, not 1"
            )
            continue
        sale = sales[0]
        if (sale.grams, sale.amount_fen, sale.batch_id) != (grams, fen, batch_id):
            yield Violation(
                "reduction-sale",
                subject,
                f"sale {sale.id} counts {sale.grams} g, {sale.amount_fen} fen of batch {sale.batch_id}; "
                f"the line has {grams} g, {fen} fen of batch {batch_id}",
            )
    for line_id in standing.keys() - seen:
        yield Violation("reduction-sale", f"order line {line_id}", "has a sale but sells no reduction batch")


def _parts(session: Session) -> Iterator[Violation]:
    parts = {
        sale_id: (int(grams), int(points), int(count))
        for sale_id, grams, points, count in session.execute(
            select(
                ReductionProceeds.sale_id,
                func.sum(ReductionProceeds.sold_g),
                func.sum(ReductionProceeds.points),
                func.count(),
            ).group_by(ReductionProceeds.sale_id)
        )
    }
    for sale in session.scalars(select(ReductionSale).order_by(ReductionSale.id)).yield_per(5000):
        subject = f"reduction sale {sale.id}"
        grams, points, count = parts.get(sale.id, (0, 0, 0))
        if sale.operator_fen + sale.distributable_fen != sale.amount_fen:
            yield Violation("reduction-proceeds", subject, "operator and distributable fen miss the amount")
        if sale.points != sale.distributable_fen * sale.points_per_fen:
            yield Violation(
                "reduction-proceeds", subject, f"{sale.points} points for {sale.distributable_fen} fen"
            )
        if count and (grams, points) != (sale.grams, sale.points):
            yield Violation(
                "reduction-proceeds",
                subject,
                f"its parts hold {grams} g and {points} points of {sale.grams} g and {sale.points} points",
            )
        if not count and (sale.points or sale.distributable_fen):
            yield Violation("reduction-proceeds", subject, "shares points but has no contributor")


def _ledger(session: Session) -> Iterator[Violation]:
    entries: dict[tuple[str, int], dict[PointsKind, int]] = defaultdict(dict)
    for source_id, user_id, kind, points in session.execute(
        select(PointsEntry.source_id, PointsEntry.user_id, PointsEntry.kind, PointsEntry.points).where(
            PointsEntry.source_type == PointsSource.REDUCTION
        )
    ):
        entries[(source_id, user_id)][kind] = points
    expected: set[tuple[str, int]] = set()
    rows = session.execute(
        select(ReductionSale.id, ReductionSale.source_id, ReductionSale.reversed_at, ReductionProceeds)
        .join(ReductionProceeds, ReductionProceeds.sale_id == ReductionSale.id)
        .where(ReductionProceeds.user_id.is_not(None), ReductionProceeds.points > 0)
        .order_by(ReductionProceeds.id)
    ).yield_per(5000)
    for sale_id, source_id, reversed_at, part in rows:
        key = (source_id, part.user_id)
        expected.add(key)
        found = entries.get(key, {})
        subject = f"reduction sale {sale_id}"
        if found.get(PointsKind.EARN) != part.points:
            yield Violation(
                "reduction-ledger",
                subject,
                f"user {part.user_id} was awarded {found.get(PointsKind.EARN)} points for a part of {part.points}",
            )
        if (reversed_at is not None) != (PointsKind.REVERSE in found):
            state = "reversed" if reversed_at is not None else "standing"
            yield Violation(
                "reduction-ledger", subject, f"the sale is {state}, user {part.user_id}'s award is not"
            )
    for source_id, user_id in entries.keys() - expected:
        yield Violation(
            "reduction-ledger", f"points source {source_id}", f"user {user_id} holds an award of no sale"
        )


@register_check
def reduction_checks(session: Session) -> Iterator[Violation]:
    """Every check of this module, in order."""
    yield from _members(session)
    yield from _issuance(session)
    yield from _sales(session)
    yield from _parts(session)
    yield from _ledger(session)
