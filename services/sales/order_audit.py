"""Audit checks of orders against the pool: every sold gram belongs to exactly one order line."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Allocation, AllocationState, Order, OrderLine, OrderStatus, Reservation, ReservationStatus
from services.pool.pool_audit import Violation, register_check

HOLDING = (OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED)


@register_check
def sold_grams_belong_to_order_lines(session: Session) -> Iterator[Violation]:
    sold = (
        select(
            Allocation.reservation_id,
            Allocation.batch_id,
            func.sum(Allocation.end_g - Allocation.start_g).label("g"),
        )
        .where(Allocation.state == AllocationState.SOLD)
        .group_by(Allocation.reservation_id, Allocation.batch_id)
        .subquery()
    )
    lines = (
        select(
            Order.reservation_id,
            OrderLine.batch_id,
            func.sum(OrderLine.grams - OrderLine.refunded_g).label("g"),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status.in_(HOLDING))
        .group_by(Order.reservation_id, OrderLine.batch_id)
        .subquery()
    )
    mismatched = session.execute(
        select(sold.c.reservation_id, sold.c.batch_id, sold.c.g, lines.c.g)
        .outerjoin(
            lines, (lines.c.reservation_id == sold.c.reservation_id) & (lines.c.batch_id == sold.c.batch_id)
        )
        .where((lines.c.g.is_(None)) | (lines.c.g != sold.c.g))
    )
    for reservation_id, batch_id, sold_g, line_g in mismatched:
        yield Violation(
            "sold-without-line",
            f"reservation {reservation_id}",
            f"{sold_g} g sold from batch {batch_id} but order lines hold {line_g or 0} g",
        )


@register_check
def fulfilled_orders_hold_their_grams(session: Session) -> Iterator[Violation]:
    rows = session.execute(
        select(
            Order.out_trade_no,
            Order.status,
            Order.grams,
            Order.refunded_g,
            Reservation.status,
            Reservation.grams,
            Reservation.returned_g,
        )
        .outerjoin(Reservation, Reservation.id == Order.reservation_id)
        .where(Order.status.in_(HOLDING))
    ).yield_per(5000)  # every holding order: streamed (a server-side cursor on PostgreSQL)
    for number, _status, grams, refunded, r_status, r_grams, returned in rows:
        if grams == 0 and r_status is None:
            continue  # a donation: no grams, no reservation (the CHECK on orders allows nothing else)
        if r_status != ReservationStatus.CONFIRMED or r_grams - returned != grams - refunded:
            yield Violation(
                "order-grams",
                f"order {number}",
                f"holds {grams - refunded} g but its reservation is {r_status} with {(r_grams or 0) - (returned or 0)} g",
            )
