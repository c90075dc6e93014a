"""The proceeds of sold reductions, shared back to the users who made them, as carbon points.

When an order is fulfilled, each of its lines that took grams of an issued reduction batch becomes a
sale: the line's fen, less the operator's share (`REDUCTION_OPERATOR_SHARE_PERMILLE`, rounded down
to the fen), is the distributable part; times `REDUCTION_POINTS_PER_FEN` it is the sale's points.
The points, and the line's grams, are split among the batch's contributors pro rata to the grams
each put in, by largest remainder in the order of their user ids: the parts add up exactly, and the
same sale always splits the same way. Each contributor gets one points-ledger entry per sale
(source `reduction`, reason "reduction proceeds ..."), pending through the buyer's refund window.

A refund reverses the sale standing for each line it touches (the points ledger's reversal: what
was spent is taken back from the user's other points as far as they go) and records what the line
still has sold and paid as a new sale, split afresh: so what a contributor holds is always the share
of what is still sold. Contributors whose account is gone are left out of the split; when none is
left, the operator keeps the whole line.

Both run inside the unit of work that fulfils or refunds the order. Before touching anyone's points
they lock the balances of every contributor and of the buyer in ascending user id, so two orders
never wait for each other's locks in a cycle (this effect runs before the buyer's own points).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    Order,
    OrderLine,
    PointsSource,
    ReductionBatch,
    ReductionBatchAction,
    ReductionProceeds,
    ReductionSale,
    Refund,
    RefundLine,
    User,
    utcnow,
)
from services.kernel.money import split_amount
from services.kernel.order_effects import Fulfilled, Refunded
from services.points import points
from services.reductions.reduction_policy import ReductionPolicy, current

SOURCE = PointsSource.REDUCTION
REASON = "reduction proceeds"


def share_out(total: int, weights: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Split `total` among `(key, weight)` pairs pro rata to the weights, by largest remainder.

    The parts are whole, add up to `total` exactly, and each is its exact share rounded down or up;
    ties in the remainder go to the lower key, so the result does not depend on the input's order.
    Weights must be positive.
    """
    if not weights:
        return []
    if any(weight <= 0 for _key, weight in weights):
        raise ValueError("every weight must be positive")
    ordered = sorted(weights)
    parts = split_amount(total, [weight for _key, weight in ordered])
    return [(key, part) for (key, _weight), part in zip(ordered, parts, strict=True)]


def _contributors(session: Session, batch_id: int) -> list[tuple[int, int]]:
    """(user id, grams) of the batch's contributors who still have an account, by user id.

    A deleted account keeps its (emptied) user row, so it is left out by `deleted_at`, not by a
    missing row: its grams stay in the batch, its share goes to the others."""
    rows = session.execute(
        select(ReductionBatchAction.user_id, func.sum(ReductionBatchAction.grams))
        .join(User, User.id == ReductionBatchAction.user_id)
        .where(ReductionBatchAction.batch_id == batch_id, User.deleted_at.is_(None))
        .group_by(ReductionBatchAction.user_id)
        .order_by(ReductionBatchAction.user_id)
    ).all()
    return [(int(user_id), int(grams)) for user_id, grams in rows]


def _reduction_lines(session: Session, order: Order) -> list[tuple[OrderLine, ReductionBatch]]:
    return list(
        session.execute(
            select(OrderLine, ReductionBatch)
            .join(ReductionBatch, ReductionBatch.pool_batch_id == OrderLine.batch_id)
            .where(OrderLine.order_id == order.id)
            .order_by(OrderLine.id)
        ).all()
    )


def _lock_everyone(
    session: Session, order: Order, lines: Sequence[tuple[OrderLine, ReductionBatch]]
) -> dict[int, list[tuple[int, int]]]:
    by_batch = {batch.id: _contributors(session, batch.id) for _line, batch in lines}
    users = {user_id for members in by_batch.values() for user_id, _grams in members}
    points.lock_balances(session, users | {order.user_id})
    return by_batch


def _source_id(line: OrderLine, refund: Refund | None) -> str:
    return f"line-{line.id}" if refund is None else f"line-{line.id}-r{refund.id}"


def _award_dates(policy: ReductionPolicy) -> tuple[datetime | None, datetime | None]:
    return points.award_dates(utcnow(), policy.points_pending_days, policy.points_expiry_days)


def record_sale_in(
    session: Session,
    order: Order,
    line: OrderLine,
    batch: ReductionBatch,
    contributors: Sequence[tuple[int, int]],
    grams: int,
    amount_fen: int,
    refund: Refund | None,
    policy: ReductionPolicy,
) -> ReductionSale:
    """Record what `line` has sold and paid (`grams`, `amount_fen`) as a sale, split it among the
    contributors and award each their points, in the caller's unit of work."""
    operator_fen = policy.operator_fen(amount_fen) if contributors else amount_fen
    distributable = amount_fen - operator_fen
    sale = ReductionSale(
        batch_id=batch.id,
        order_line_id=line.id,
        refund_id=refund.id if refund is not None else None,
        source_id=_source_id(line, refund),
        grams=grams,
        amount_fen=amount_fen,
        share_permille=policy.operator_share_permille,
        operator_fen=operator_fen,
        distributable_fen=distributable,
        points_per_fen=policy.points_per_fen,
        points=distributable * policy.points_per_fen,
    )
    session.add(sale)
    session.flush()
    weights = dict(contributors)
    sold = dict(share_out(grams, contributors))
    pending_until, expires_at = _award_dates(policy)
    reason = (
        f"{REASON}: batch {batch.id} ({batch.month:%Y-%m} {batch.methodology}), order {order.out_trade_no}"
    )
    for user_id, earned in share_out(sale.points, contributors):
        session.add(
            ReductionProceeds(
                sale_id=sale.id,
                user_id=user_id,
                contributed_g=weights[user_id],
                sold_g=sold[user_id],
                points=earned,
            )
        )
        points.award(
            session,
            user_id,
            earned,
            SOURCE,
            sale.source_id,
            reason[: points.REASON_MAX],
            pending_until=pending_until,
            expires_at=expires_at,
        )
    session.flush()
    return sale


def _active_sale(session: Session, line: OrderLine) -> ReductionSale | None:
    return session.scalar(
        select(ReductionSale).where(
            ReductionSale.order_line_id == line.id, ReductionSale.reversed_at.is_(None)
        )
    )


def _net_fen(session: Session, line: OrderLine) -> int:
    repaid = session.scalar(
        select(func.coalesce(func.sum(RefundLine.amount_fen), 0)).where(RefundLine.order_line_id == line.id)
    )
    return line.amount_fen - int(repaid or 0)


def on_order_fulfilled(session: Session, fact: Fulfilled) -> None:
    """Order effect: the proceeds of every line of an issued reduction batch, shared as points."""
    lines = _reduction_lines(session, fact.order)
    if not lines:
        return None
    policy = current()
    contributors = _lock_everyone(session, fact.order, lines)
    for line, batch in lines:
        if _active_sale(session, line) is None:  # a fulfilment is announced once; be sure anyway
            record_sale_in(
                session,
                fact.order,
                line,
                batch,
                contributors[batch.id],
                line.grams,
                line.amount_fen,
                None,
                policy,
            )
    return None


def on_order_refunded(session: Session, fact: Refunded) -> None:
    """Order effect: each touched line's sale reversed, and what it still sells shared afresh."""
    lines = _reduction_lines(session, fact.order)
    if not lines:
        return None
    policy = current()
    contributors = _lock_everyone(session, fact.order, lines)
    reason = f"{REASON} reversed: refund {fact.refund.out_refund_no}"[: points.REASON_MAX]
    for line, batch in lines:
        grams, amount_fen = line.grams - line.refunded_g, _net_fen(session, line)
        standing = _active_sale(session, line)
        if standing is not None:
            if (standing.grams, standing.amount_fen) == (grams, amount_fen):
                continue  # this refund did not touch the line
            standing.reversed_at = utcnow()
            session.flush()
            points.reverse(session, SOURCE, standing.source_id, reason)
        if grams > 0 or amount_fen > 0:
            record_sale_in(
                session,
                fact.order,
                line,
                batch,
                contributors[batch.id],
                grams,
                amount_fen,
                fact.refund,
                policy,
            )
    return None
