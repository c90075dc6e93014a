"""Carbon points for purchases: awarded on fulfilment, pending through the refund window, reversed by refunds.

The award's source is the order; after a partial refund the award is reversed and the remaining
grams are awarded again under the refund's own source, so every entry stays unique per source.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Order, Refund, RefundStatus, utcnow
from services import points
from services.order_policy import OrderPolicy

SOURCE = "order"


def _source_id(order: Order, refund: Refund | None) -> str:
    return f"{order.id}" if refund is None else f"{order.id}-r{refund.id}"


def _award(session: Session, order: Order, grams: int, policy: OrderPolicy, refund: Refund | None) -> None:
    pending_until, expires_at = points.award_dates(
        utcnow(), policy.points_pending_days, policy.points_expiry_days
    )
    points.award(
        session,
        order.user_id,
        points.points_for_offset(grams, policy.points_per_kg),
        SOURCE,
        _source_id(order, refund),
        f"offset {grams / 1000:g} kg, order {order.out_trade_no}",
        pending_until=pending_until,
        expires_at=expires_at,
    )


def award_for_order(session: Session, order: Order, policy: OrderPolicy) -> None:
    """Points for a fulfilled order (pending until its refund window closes)."""
    _award(session, order, order.grams, policy, None)


def reverse_for_order(session: Session, order: Order, refund: Refund, policy: OrderPolicy) -> None:
    """Reverse the order's current award; award again for what is still sold."""
    earlier = session.scalar(
        select(Refund)
        .where(
            Refund.order_id == order.id,
            Refund.status == RefundStatus.SUCCEEDED,
            Refund.id != refund.id,
            Refund.automatic.is_(False),
        )
        .order_by(Refund.id.desc())
        .limit(1)
    )
    points.reverse(session, SOURCE, _source_id(order, earlier), f"refund {refund.out_refund_no}")
    remaining = order.grams - order.refunded_g
    if remaining > 0:
        _award(session, order, remaining, policy, refund)
