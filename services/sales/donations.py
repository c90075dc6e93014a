"""Donation orders: money given for trees planted and adopted (认建认养, 捐资造林), no grams sold.

A donation is an order like any other for payment, expiry, sync, reconciliation and refunds, so it
is paid through the same WeChat Pay (or bank transfer) path and can never be lost between a
payment and its record. It takes nothing from the pool: channel `adoption`, zero grams, no
reservation and no lines, which the CHECK `grams_by_channel` on `orders` holds. Fulfilling it sells
no credits and issues no credit certificate; refunding it gives back its whole amount.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models import Channel, Order, OrderEvent, OrderStatus, utcnow
from services.sales.orders import new_out_trade_no


def write_in(
    session: Session,
    *,
    user_id: int,
    organisation_id: int | None,
    amount_fen: int,
    holder_name: str,
    provider_name: str,
    expires_at: datetime,
    source_type: str,
    source_id: str,
) -> Order:
    """Record an open donation order in the caller's unit of work (its payment is opened after the
    commit, with no row locked); gives it flushed, with its id."""
    now = utcnow()
    order = Order(
        out_trade_no=new_out_trade_no(now),
        user_id=user_id,
        organisation_id=organisation_id,
        channel=Channel.ADOPTION,
        status=OrderStatus.CREATED,
        grams=0,
        amount_fen=amount_fen,
        holder_name=holder_name[:64],
        provider=provider_name,
        expires_at=expires_at,
        source_type=source_type,
        source_id=source_id,
        created_at=now,
    )
    session.add(order)
    session.flush()
    session.add(
        OrderEvent(
            order_id=order.id,
            from_status=None,
            to_status=OrderStatus.CREATED.value,
            note="donation placed",
            at=now,
        )
    )
    return order
