"""Buyers whose account is being deleted: whether money may still move for them, and their names.

A deletion waits while any order the user placed may still be paid, fulfilled or refunded: an open
order (placed, awaiting payment), a paid one not yet fulfilled, a refund in progress, or an expired
or cancelled order whose trade WeChat Pay has not confirmed closed within the window the sync job
still asks about it (a payment may yet arrive for it). Otherwise a payment or refund landing after
the deletion would leave a certificate, points or money with an account nobody can reach.

The orders themselves are kept (accounting); the holder name the buyer gave for their own purchases
is replaced by a pseudonym. An organisation's orders keep theirs: the organisation is the buyer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from models import Order, OrderStatus, Refund, RefundStatus
from services.sales.ended_trades import ENDED
from services.sales.order_states import OPEN


def business_in_flight_in(session: Session, user_id: int, now: datetime, ended_sync_days: int) -> bool:
    """Whether some order the user placed may still be paid, fulfilled or refunded."""
    mine = Order.user_id == user_id
    still_moving = or_(
        Order.status.in_([*OPEN, OrderStatus.PAID]),
        and_(
            Order.status.in_(ENDED),
            Order.prepay_id.is_not(None),
            Order.trade_closed_at.is_(None),
            Order.expires_at >= now - timedelta(days=ended_sync_days),
        ),
    )
    refunding = (
        select(Refund.id)
        .join(Order, Order.id == Refund.order_id)
        .where(mine, Refund.status == RefundStatus.PROCESSING)
    )
    return bool(
        session.scalar(select(exists(select(Order.id).where(mine, still_moving)) | exists(refunding)))
    )


def pseudonymise_holders_in(session: Session, user_id: int, holder: str) -> int:
    """Name `holder` on the user's own orders (not an organisation's), in the caller's unit of work."""
    return int(
        session.execute(
            update(Order)
            .where(Order.user_id == user_id, Order.organisation_id.is_(None))
            .values(holder_name=holder)
        ).rowcount
        or 0
    )
