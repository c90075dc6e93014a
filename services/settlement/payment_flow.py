"""Paying for an order: opening the payment, taking WeChat Pay's word that it was paid, fulfilment.

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

from models import Order, OrderStatus, PaymentEvent, Refund, User, utcnow
from models.database import read_session, unit_of_work
from payments.errors import GatewayError, PaymentError
from payments.interface import (
    PaymentNotification,
    PaymentProvider,
    PrepayRequest,
    PrepayResult,
    TradeQuery,
    TradeState,
)
from services.accounts.tokens import Principal
from services.certificates import certificates
from services.kernel.errors import (
    InsufficientCredits,
    InvalidState,
    PaymentRequired,
    UpstreamError,
    ValidationFailed,
)
from services.neutralisation import events
from services.points import rankings
from services.points.points_hooks import award_for_order
from services.pool import reservations
from services.sales import order_states, orders
from services.sales.order_policy import OrderPolicy

log = logging.getLogger(__name__)


class PaymentRejected(ValidationFailed):
    """A genuine-looking payment notification that does not match the order (amount, order number)."""

    code = "payment_rejected"


@dataclass(frozen=True)
class PaymentOutcome:
    order_id: int
    outcome: str  # fulfilled | duplicate | refund_started | ignored
    refund_id: int | None = None


def notify_url(policy: OrderPolicy, provider: PaymentProvider) -> str:
    return f"{policy.public_base_url}/api/v1/payments/{provider.name}/notify"


def start_payment(
    principal: Principal, out_trade_no: str, provider: PaymentProvider, policy: OrderPolicy
) -> PrepayResult:
    """Open (or reopen) the WeChat payment of one of the caller's open orders."""
    return open_payment(orders.get_order(principal, out_trade_no).id, provider, policy)


def open_payment(order_id: int, provider: PaymentProvider, policy: OrderPolicy) -> PrepayResult:
    """Prepay at the provider with no lock held, then record the prepay id (created → awaiting payment)."""
    session = read_session()
    row = session.execute(
        select(
            Order.out_trade_no,
            Order.status,
            Order.amount_fen,
            Order.grams,
            Order.units,
            Order.expires_at,
            Order.provider,
            User.openid,
        )
        .join(User, User.id == Order.user_id)
        .where(Order.id == order_id)
    ).one()
    session.rollback()
    require_settled_by(row.out_trade_no, row.provider, provider)
    if row.status not in order_states.OPEN:
        raise InvalidState(
            f"Order {row.out_trade_no} is {row.status.value}; it cannot be paid.", status=row.status.value
        )
    if not row.openid:
        raise ValidationFailed(
            "This account has no WeChat openid to pay with.", errors={"user": ["no openid"]}
        )
    request = PrepayRequest(
        out_trade_no=row.out_trade_no,
        description=description(row.grams, row.units),
        amount_fen=row.amount_fen,
        payer_openid=row.openid,
        time_expire=row.expires_at,
        notify_url=notify_url(policy, provider),
    )
    try:
        result = provider.prepay(request)
    except GatewayError as exc:
        raise UpstreamError(
            "WeChat Pay could not be reached; the order is kept, try paying again.", order=row.out_trade_no
        ) from exc
    except PaymentError as exc:
        raise PaymentRequired(f"WeChat Pay refused the payment: {exc}", order=row.out_trade_no) from exc
    with unit_of_work() as session:
        order_states.mark_awaiting_payment(session, order_id, result.prepay_id)
    return result


def require_settled_by(out_trade_no: str, order_provider: str, provider: PaymentProvider) -> None:
    """Refuse (409) to open or query a payment at `provider` for an order settled another way.

    An order is paid through the provider it was placed with: a bank-transfer order has no trade at
    WeChat Pay, and is fulfilled when an admin confirms the transfer (`confirm-transfer`).
    """
    if order_provider == provider.name:
        return
    from services.sales.credit_purchase import BANK_TRANSFER  # credit_purchase imports this module

    how = (
        "by bank transfer, confirmed by an admin when it arrives"
        if order_provider == BANK_TRANSFER
        else f"through {order_provider}"
    )
    raise InvalidState(
        f"Order {out_trade_no} is settled {how}; {provider.name} has no payment for it.",
        provider=order_provider,
    )


def description(grams: int, units: int | None) -> str:
    kg = grams / 1000
    return f"碳汇 {kg:g} kg CO2e" if units is None else f"一元碳汇 {units} 份 ({kg:g} kg CO2e)"


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
            _record_event(session, order, notification, "late payment, no grams left: refund")
            return PaymentOutcome(order.id, "refund_started", refund.id)
        _record_event(session, order, notification, "fulfilled")
        fulfil_in(session, order, policy)
        posting = rankings.offset_posting_in(session, order, order.grams)
    rankings.post_offset(posting)
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
    """After expiry, try to hold the same grams again from the same selection."""
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


def fulfil_in(session: Session, order: Order, policy: OrderPolicy) -> None:
    """Reserved grams become sold, the certificate is issued, points are awarded, the order is fulfilled.

    An event's offset order also moves its event to `offset`, in the same transaction.
    """
    reservations.confirm_in(session, order.reservation_id)
    certificates.issue_in(session, order, order.holder_name or "碳汇认购人")
    award_for_order(session, order, policy)
    order.fulfilled_at = utcnow()
    order_states.transition(session, order, OrderStatus.FULFILLED, "certificate issued")
    events.offset_fulfilled_in(session, order)


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
