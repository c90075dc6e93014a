"""Settling an order: taking WeChat Pay's word that it was paid, fulfilment, and syncing with WeChat Pay.

The payment is opened by sales (`services.sales.payment_opening`).

Fulfilment happens exactly once per order: the payment notification locks the order row, is
recorded under a unique (kind, transaction_id), and only then moves the order. A duplicate,
reordered or concurrent callback finds the event already recorded and changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Order, OrderStatus, PaymentEvent, Refund, utcnow
from models.database import read_session, unit_of_work
from payments.errors import GatewayError
from payments.interface import (
    PaymentNotification,
    PaymentProvider,
    TradeQuery,
    TradeState,
)
from services.kernel import order_effects
from services.kernel.errors import (
    InsufficientCredits,
    UpstreamError,
    ValidationFailed,
)
from services.kernel.order_effects import AfterCommit, Fulfilled
from services.pool import reservations
from services.reporting import sales_rollups
from services.sales import order_states, orders
from services.sales.order_policy import OrderPolicy
from services.sales.payment_opening import require_settled_by

log = logging.getLogger(__name__)


class PaymentRejected(ValidationFailed):
    """A genuine-looking payment notification that does not match the order (amount, order number)."""

    code = "payment_rejected"


@dataclass(frozen=True)
class PaymentOutcome:
    order_id: int
    outcome: str  # fulfilled | duplicate | refund_started | ignored
    refund_id: int | None = None


def handle_payment_notification(
    notification: PaymentNotification, provider_name: str, policy: OrderPolicy
) -> PaymentOutcome:
    """Take a verified payment notification; fulfil the order once, or refund a payment that came too late."""
    if not notification.paid:
        order = _order_by_no(notification.out_trade_no)
        return PaymentOutcome(order.id, "ignored")
    with unit_of_work() as session:
        order = session.scalar(
            select(Order)
            .where(Order.out_trade_no == notification.out_trade_no)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if order is None:
            raise PaymentRejected(f"No order {notification.out_trade_no}.")
        if notification.amount_fen != order.amount_fen:
            raise PaymentRejected(
                f"Paid {notification.amount_fen} fen but order {order.out_trade_no} costs {order.amount_fen} fen."
            )
        seen = session.scalar(
            select(PaymentEvent.id).where(
                PaymentEvent.kind == "payment", PaymentEvent.provider_ref == notification.transaction_id
            )
        )
        if seen is not None or order.transaction_id == notification.transaction_id:
            return PaymentOutcome(order.id, "duplicate")
        if order.transaction_id is not None:
            # The same order paid twice under two transactions: keep the first, give this one back.
            refund = _second_payment_refund(session, order, notification)
            _record_event(session, order, notification, "paid twice: refund")
            log.warning(
                "order %s paid twice (%s, %s): refund %s",
                order.out_trade_no,
                order.transaction_id,
                notification.transaction_id,
                refund.out_refund_no,
            )
            return PaymentOutcome(order.id, "refund_started", refund.id)
        late = order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED)
        order.transaction_id = notification.transaction_id
        order.paid_at = notification.success_time or utcnow()
        order_states.transition(
            session, order, OrderStatus.PAID, f"paid via {provider_name}" + (" after expiry" if late else "")
        )
        if late and not _reserve_again(session, order):
            refund = _automatic_refund(session, order)
            sales_rollups.paid_unfulfilled_in(session, order)  # no order effect: paid, never fulfilled
            _record_event(session, order, notification, "late payment, no grams left: refund")
            return PaymentOutcome(order.id, "refund_started", refund.id)
        _record_event(session, order, notification, "fulfilled")
        after = fulfil_in(session, order, policy)
    after.run()
    return PaymentOutcome(order.id, "fulfilled")


def _order_by_no(out_trade_no: str) -> Order:
    order = read_session().scalar(select(Order).where(Order.out_trade_no == out_trade_no))
    if order is None:
        raise PaymentRejected(f"No order {out_trade_no}.")
    return order


def _record_event(session: Session, order: Order, notification: PaymentNotification, outcome: str) -> None:
    session.add(
        PaymentEvent(
            order_id=order.id,
            kind="payment",
            provider_ref=notification.transaction_id,
            amount_fen=notification.amount_fen,
            outcome=outcome,
            raw=dict(notification.raw) or None,
        )
    )


def _reserve_again(session: Session, order: Order) -> bool:
    """After expiry, try to hold the same grams again from the same selection.

    A donation (no grams) is not taken again: what it was for (trees of a plot) may be another's by
    now, so a donation paid after its window is given back."""
    if not order.grams:
        return False
    selector = reservations.Selector(project_id=order.project_id, owner_id=order.owner_id)
    savepoint = session.begin_nested()
    try:
        reservation = reservations.reserve_in(session, order.grams, selector, utcnow())
    except InsufficientCredits:
        savepoint.rollback()
        return False
    savepoint.commit()
    order.reservation_id = reservation.id
    line = order.lines[0] if order.lines else None
    orders.replace_lines(session, order, reservation, line.price_fen_per_t if line else 0)
    return True


def _automatic_refund(session: Session, order: Order) -> Refund:
    refund = Refund(
        order_id=order.id,
        out_refund_no=f"RF{order.out_trade_no[2:]}A",
        grams=0,
        amount_fen=order.amount_fen,
        reason="paid after expiry; no credits left",
        automatic=True,
    )
    session.add(refund)
    session.flush()
    return refund


def second_payment_refund_no(out_trade_no: str, transaction_id: str) -> str:
    """The refund number of a second payment: derived from both, so applying it again is harmless."""
    digest = hashlib.sha256(transaction_id.encode()).hexdigest()[:9].upper()
    return f"RF{out_trade_no[2:]}"[:22] + f"D{digest}"


def _second_payment_refund(session: Session, order: Order, notification: PaymentNotification) -> Refund:
    refund = Refund(
        order_id=order.id,
        out_refund_no=second_payment_refund_no(order.out_trade_no, notification.transaction_id),
        grams=0,
        amount_fen=notification.amount_fen,
        reason="paid twice; the second payment goes back",
        automatic=True,
        transaction_id=notification.transaction_id,
    )
    session.add(refund)
    session.flush()
    return refund


def fulfil_in(session: Session, order: Order, policy: OrderPolicy) -> AfterCommit:
    """Reserved grams become sold and the order is fulfilled; the order effects (certificate, points,
    an event moving to `offset`, rankings) run in the same transaction. What they left for after the
    commit is the answer."""
    sold: list[tuple[int, int]] = []
    if order.grams:  # a donation takes no grams from the pool
        _reservation, sold = reservations.confirm_slices_in(session, order.reservation_id)
    order.fulfilled_at = utcnow()
    order_states.transition(session, order, OrderStatus.FULFILLED, "certificate issued")
    after = order_effects.announce_in(session, Fulfilled(order, policy))
    # Last, just before the commit: the batch rows every buyer's order and payment also update.
    reservations.count_sold_in(session, sold)
    return after


def sync_with_provider(
    out_trade_no: str, provider: PaymentProvider, policy: OrderPolicy
) -> PaymentOutcome | None:
    """Ask the provider about an order whose callback did not come; act on a payment found.

    `NotFoundAtProvider` when the provider never opened a trade for it.
    """
    order = _order_by_no(out_trade_no)
    require_settled_by(out_trade_no, order.provider, provider)
    try:
        query: TradeQuery = provider.query(out_trade_no)
    except GatewayError as exc:
        raise UpstreamError("WeChat Pay could not be reached; try again later.") from exc
    if not query.paid:
        return None
    notification = PaymentNotification(
        out_trade_no=out_trade_no,
        transaction_id=query.transaction_id,
        trade_state=TradeState.SUCCESS,
        amount_fen=query.amount_fen if query.amount_fen is not None else order.amount_fen,
        appid="",
        mchid="",
        payer_openid=query.payer_openid,
        success_time=query.success_time,
        raw=query.raw,
    )
    return handle_payment_notification(notification, provider.name, policy)
