"""Audit checks that owner payouts are exact: refund lines add up to their refunds and their lines."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Order, OrderLine, Refund, RefundLine, RefundStatus
from services.pool.pool_audit import Violation, register_check


@register_check
def refund_lines_add_up_to_refunds(session: Session) -> Iterator[Violation]:
    split = (
        select(
            RefundLine.refund_id,
            func.sum(RefundLine.amount_fen).label("fen"),
            func.sum(RefundLine.grams).label("grams"),
        )
        .group_by(RefundLine.refund_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Refund.out_refund_no, Refund.status, Refund.amount_fen, Refund.grams, split.c.fen, split.c.grams
        )
        .join(Order, Order.id == Refund.order_id)
        .outerjoin(split, split.c.refund_id == Refund.id)
        .where(
            (
                (Refund.status == RefundStatus.SUCCEEDED)
                & Refund.transaction_id.is_(None)
                & (Order.grams > 0)  # a donation has no lines to split over (its lines stay none)
                & (
                    (func.coalesce(split.c.fen, 0) != Refund.amount_fen)
                    | ((Refund.automatic.is_(False)) & (func.coalesce(split.c.grams, 0) != Refund.grams))
                )
            )
            # Lines only for succeeded refunds of the order's own payment (a second payment's has none).
            | (
                (
                    (Refund.status != RefundStatus.SUCCEEDED)
                    | Refund.transaction_id.is_not(None)
                    | (Order.grams == 0)
                )
                & split.c.refund_id.is_not(None)
            )
        )
        .order_by(Refund.id)
    )
    for number, status, fen, grams, line_fen, line_grams in rows:
        yield Violation(
            "refund-lines",
            f"refund {number}",
            f"{status.value} refund of {grams} g, {fen} fen but its lines hold {line_grams or 0} g, {line_fen or 0} fen",
        )


@register_check
def refund_lines_add_up_to_order_lines(session: Session) -> Iterator[Violation]:
    split = (
        select(
            RefundLine.order_line_id,
            func.sum(RefundLine.amount_fen).label("fen"),
            func.sum(RefundLine.grams).label("grams"),
        )
        .group_by(RefundLine.order_line_id)
        .subquery()
    )
    rows = session.execute(
        select(
            OrderLine.id,
            OrderLine.grams,
            OrderLine.refunded_g,
            OrderLine.amount_fen,
            split.c.grams,
            split.c.fen,
        )
        .outerjoin(split, split.c.order_line_id == OrderLine.id)
        .where(
            (func.coalesce(split.c.grams, 0) != OrderLine.refunded_g)
            | (func.coalesce(split.c.fen, 0) > OrderLine.amount_fen)
        )
        .order_by(OrderLine.id)
    )
    for line_id, _grams, refunded_g, amount, line_grams, line_fen in rows:
        yield Violation(
            "refund-lines",
            f"order line {line_id}",
            f"refunded {refunded_g} g of {amount} fen but refund lines hold {line_grams or 0} g, {line_fen or 0} fen",
        )
