"""Expired and cancelled orders whose trade at WeChat Pay may still be open, or was paid.

An order ends here (expired, or cancelled by its buyer) without WeChat Pay knowing: a buyer who
paid at the last second, whose callback was lost, has paid for an order that ended. Until WeChat
Pay confirms the trade closed (`Order.trade_closed_at`) the sync job keeps asking about it, for
`OrderPolicy.ended_sync_days` after its payment window.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from models import Order, OrderStatus, utcnow
from models.database import read_session, unit_of_work

ENDED = (OrderStatus.EXPIRED, OrderStatus.CANCELLED)


def with_open_trade(provider_name: str, since: datetime, limit: int = 200) -> list[tuple[int, str]]:
    """(id, out_trade_no) of ended orders of `provider_name` whose trade is not confirmed closed."""
    session = read_session()
    rows = session.execute(
        select(Order.id, Order.out_trade_no)
        .where(
            Order.status.in_(ENDED),
            Order.provider == provider_name,
            Order.prepay_id.is_not(None),  # a trade was opened at WeChat Pay
            Order.trade_closed_at.is_(None),
            Order.expires_at >= since,
        )
        .order_by(Order.id)
        .limit(limit)
    ).all()
    session.rollback()
    return [(row.id, row.out_trade_no) for row in rows]


def mark_trade_closed(order_id: int) -> bool:
    """WeChat Pay says the ended order's trade is closed (or was never opened): stop asking about it."""
    with unit_of_work() as session:
        marked = session.execute(
            update(Order)
            .where(
                Order.id == order_id,
                Order.status.in_(ENDED),
                Order.transaction_id.is_(None),
                Order.trade_closed_at.is_(None),
            )
            .values(trade_closed_at=utcnow())
        ).rowcount
    return bool(marked)
