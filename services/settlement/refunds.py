"""Refunds: asked by the buyer within the refund window, or made by an admin, in full or in part.

A refund is recorded first (processing), then applied at WeChat Pay outside any transaction, with
an `out_refund_no` that makes a retried application harmless. Only when WeChat Pay says the money
went back do the grams return to the pool, the certificate get voided or reissued and the points
get reversed; that completion happens once, whichever of the answer, the callback or a query
brings the news first.

An order paid by bank transfer cannot be refunded through WeChat Pay: an admin's refund of it is
recorded as an *offline* refund under the same rules, and stays processing until an admin records
that the bank paid it out (`services.settlement.offline_refunds`), which completes it the same way.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Order, OrderLine, OrderStatus, Refund, RefundStatus, Reservation, ReservationStatus, utcnow
from models.database import read_session, unit_of_work
from payments.errors import GatewayError, PaymentError
from payments.interface import PaymentProvider, RefundNotification, RefundRequest, RefundResult
from payments.interface import RefundStatus as ProviderRefundStatus
from services.accounts.tokens import Principal
from services.kernel import audit, order_effects
from services.kernel.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from services.kernel.order_effects import AfterCommit, Refunded
from services.pool import reservations
from services.registry import retired_tonnes
from services.reporting import sales_rollups
from services.sales import order_states, orders
from services.sales.order_policy import OrderPolicy
from services.sales.payment_opening import BANK_TRANSFER
from services.settlement import refund_lines

log = logging.getLogger(__name__)


def request_refund(
    principal: Principal,
    out_trade_no: str,
    grams: int | None,
    reason: str,
    policy: OrderPolicy,
    provider: PaymentProvider,
) -> Refund:
    """Record a refund of `grams` (all that is left when None) and apply it at the provider.

    An admin's refund of a bank-transfer order is recorded as an offline refund and returned
    processing: the money goes back by bank, and `offline_refunds.mark_paid_out` completes it.
    """
    order = orders.get_order(principal, out_trade_no)
    with unit_of_work() as session:
        order = orders.lock_order(session, order.id)
        _check_refundable(principal, order, policy)
        offline = order.provider == BANK_TRANSFER
        grams, amount = (
            _donation_refund(order, grams)
            if order.grams == 0
            else _sale_refund(session, order, grams, policy)
        )
        if amount <= 0:
            raise ValidationFailed(
                "This refund would return no money.", errors={"grams": ["too small to refund"]}
            )
        sequence = session.scalar(
            select(Refund.id).where(Refund.order_id == order.id).order_by(Refund.id.desc()).limit(1)
        )
        refund = Refund(
            order_id=order.id,
            out_refund_no=f"RF{order.out_trade_no[2:]}{(sequence or 0) % 100 + 1:02d}"[:32],
            grams=grams,
            amount_fen=amount,
            reason=reason[:255],
            requested_by=principal.user_id,
            offline=offline,
        )
        session.add(refund)
        session.flush()
        if principal.is_admin:
            audit.record(
                session,
                principal.user_id,
                "refund.request",
                "order",
                order.out_trade_no,
                None,
                {
                    "out_refund_no": refund.out_refund_no,
                    "grams": grams,
                    "amount_fen": amount,
                    "reason": reason,
                    "offline": offline,
                },
            )
        refund_id = refund.id
    if offline:
        return _reload(refund_id)
    return apply_refund(refund_id, provider, policy)


def _sale_refund(session: Session, order: Order, grams: int | None, policy: OrderPolicy) -> tuple[int, int]:
    """The grams and fen of refunding `grams` (all that is left when None) of a sale."""
    remaining = order.grams - order.refunded_g
    grams = remaining if grams is None else grams
    if not 0 < grams <= remaining:
        raise ValidationFailed(
            "Refund between 1 g and what is left.", errors={"grams": [f"must be 1 to {remaining}"]}
        )
    if order.units is not None and grams % policy.unit_g:
        raise ValidationFailed(
            "One-yuan orders are refunded in whole units.",
            errors={"grams": [f"must be a multiple of {policy.unit_g}"]},
        )
    if _retired_g(session, order, grams) > 0:
        raise InvalidState(
            "These credits are being retired at the registry or already are; they cannot be refunded.",
            errors={"grams": ["lie in tonnes retired (or being retired) at the registry"]},
        )
    amount = (
        order.amount_fen - order.refunded_fen
        if grams == remaining
        else order.amount_fen * grams // order.grams
    )
    return grams, amount


def _donation_refund(order: Order, grams: int | None) -> tuple[int, int]:
    """A donation (an order that takes no grams, `services.sales.donations`) goes back whole."""
    if grams:
        raise ValidationFailed(
            "A donation is refunded whole; it has no grams to give back.",
            errors={"grams": ["leave out for a donation"]},
        )
    return 0, order.amount_fen - order.refunded_fen


def _check_refundable(principal: Principal, order: Order, policy: OrderPolicy) -> None:
    if order.user_id != principal.user_id and not principal.is_admin:
        raise NotFound(f"Order {order.out_trade_no} does not exist.")
    if order.status not in order_states.REFUNDABLE:
        raise InvalidState(f"Order {order.out_trade_no} is {order.status.value}; it cannot be refunded.")
    if order.provider == BANK_TRANSFER and not principal.is_admin:
        raise InvalidState(
            f"Order {order.out_trade_no} was paid by bank transfer; WeChat Pay cannot refund it. "
            "Ask the operator, who refunds it by bank.",
            provider=order.provider,
        )
    session = read_session()
    if session.scalar(
        select(Refund.id).where(
            Refund.order_id == order.id,
            Refund.status == RefundStatus.PROCESSING,
            Refund.transaction_id.is_(None),  # a second payment's refund is not one of the order's
        )
    ):
        raise Conflict("A refund of this order is already being processed.")
    if not principal.is_admin:
        window = timedelta(days=policy.refund_window_days)
        if order.paid_at is None or utcnow() - order.paid_at > window:
            raise PermissionDenied(
                f"Refunds can be asked within {policy.refund_window_days} days of payment."
            )


def _retired_g(session: Session, order: Order, grams: int) -> int:
    """Grams that refunding `grams` of the order would take from tonnes in a registry retirement."""
    return retired_tonnes.locked_grams_of_refund(session, order.reservation_id, grams)


def apply_refund(refund_id: int, provider: PaymentProvider, policy: OrderPolicy) -> Refund:
    """Apply (or re-apply, idempotently) a processing refund at the provider; complete it if done."""
    session = read_session()
    refund = session.get(Refund, refund_id)
    order = session.get(Order, refund.order_id)
    session.rollback()
    request = RefundRequest(
        out_trade_no=order.out_trade_no,
        out_refund_no=refund.out_refund_no,
        refund_fen=refund.amount_fen,
        # A second payment is refunded by its own transaction, in full.
        total_fen=refund.amount_fen if refund.transaction_id else order.amount_fen,
        reason=refund.reason[:80],
        notify_url=f"{policy.public_base_url}/api/v1/payments/{provider.name}/refund-notify",
        transaction_id=refund.transaction_id or "",
    )
    try:
        result = provider.refund(request)
    except GatewayError:
        log.warning(
            "refund %s: provider unreachable; it stays processing and is retried", refund.out_refund_no
        )
        return _reload(refund_id)
    except PaymentError as exc:
        fail_refund(refund.out_refund_no, str(exc))
        return _reload(refund_id)
    if not apply_result(refund.out_refund_no, result, policy):
        with unit_of_work() as session:
            session.get(Refund, refund_id).refund_id = result.refund_id
    return _reload(refund_id)


def apply_result(out_refund_no: str, result: RefundResult, policy: OrderPolicy) -> bool:
    """Act on the provider's word about a refund; False while it is still processing."""
    if result.status == ProviderRefundStatus.SUCCESS:
        complete_refund(out_refund_no, result.refund_id, policy)
        return True
    if result.status in (ProviderRefundStatus.CLOSED, ProviderRefundStatus.ABNORMAL):
        fail_refund(out_refund_no, result.status.value)
        return True
    return False


def _reload(refund_id: int) -> Refund:
    session = read_session()
    return session.get(Refund, refund_id, populate_existing=True)


def lock_refund(session: Session, out_refund_no: str) -> Refund:
    refund = session.scalar(
        select(Refund)
        .where(Refund.out_refund_no == out_refund_no)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if refund is None:
        raise NotFound(f"Refund {out_refund_no} does not exist.")
    return refund


def complete_refund(out_refund_no: str, refund_id: str, policy: OrderPolicy) -> bool:
    """WeChat Pay says the money went back: return the grams, fix the certificate, reverse points. Once only.

    An offline refund is not WeChat Pay's to complete; only an admin's payout record completes it.
    """
    with unit_of_work() as session:
        refund = lock_refund(session, out_refund_no)
        if refund.status != RefundStatus.PROCESSING or refund.offline:
            return False
        after = complete_refund_in(session, refund, refund_id, policy)
    after.run()
    return True


def complete_refund_in(session: Session, refund: Refund, refund_id: str, policy: OrderPolicy) -> AfterCommit:
    """Complete a locked processing refund inside the caller's unit of work; the order effects
    (certificate, points, event, rankings) run in it, and what they left is for the caller to run
    once it has committed."""
    order = orders.lock_order(session, refund.order_id)
    refund.status = RefundStatus.SUCCEEDED
    refund.refund_id = refund_id
    refund.completed_at = utcnow()
    if refund.transaction_id is not None:
        return (
            AfterCommit()
        )  # a second payment went back: the order, its lines and its figures stay as they are
    reservation = session.get(Reservation, order.reservation_id) if order.reservation_id else None
    grams_by_line: dict[int, int] = defaultdict(int)
    if refund.grams and reservation is not None and reservation.status == ReservationStatus.CONFIRMED:
        for batch_id, start, end in reservations.return_sold_in(session, reservation.id, refund.grams):
            line = session.scalar(
                select(OrderLine).where(OrderLine.order_id == order.id, OrderLine.batch_id == batch_id)
            )
            line.refunded_g += end - start
            grams_by_line[line.id] += end - start
    refund_lines.record_in(session, refund, grams_by_line)
    order.refunded_fen += refund.amount_fen
    order.refunded_g += refund.grams if not refund.automatic else 0
    full = order.refunded_fen == order.amount_fen
    if refund.automatic:
        order_states.transition(session, order, OrderStatus.REFUNDED, "late payment refunded")
        sales_rollups.refunded_without_effect_in(session, order, refund)
        return AfterCommit()
    order_states.transition(
        session,
        order,
        OrderStatus.REFUNDED if full else OrderStatus.PARTIALLY_REFUNDED,
        f"refunded {refund.grams} g, {refund.amount_fen} fen",
    )
    return order_effects.announce_in(session, Refunded(order, refund, policy, full))


def fail_refund(out_refund_no: str, why: str) -> bool:
    with unit_of_work() as session:
        refund = session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no).with_for_update())
        if refund is None or refund.status != RefundStatus.PROCESSING or refund.offline:
            return False
        refund.status = RefundStatus.FAILED
        refund.completed_at = utcnow()
        refund.reason = f"{refund.reason} (failed: {why})"[:255]
        log.error("refund %s failed: %s", out_refund_no, why)
    return True


def processing_refunds(limit: int = 200) -> list[int]:
    """Refunds still processing at WeChat Pay (offline refunds wait for an admin, not for the provider)."""
    session = read_session()
    ids = session.scalars(
        select(Refund.id)
        .where(Refund.status == RefundStatus.PROCESSING, Refund.offline.is_(False))
        .order_by(Refund.id)
        .limit(limit)
    ).all()
    session.rollback()
    return list(ids)


def handle_refund_notification(notification: RefundNotification, policy: OrderPolicy) -> bool:
    """A verified refund callback: complete or fail the refund, once."""
    if notification.status == ProviderRefundStatus.SUCCESS:
        return complete_refund(notification.out_refund_no, notification.refund_id, policy)
    if notification.status in (ProviderRefundStatus.CLOSED, ProviderRefundStatus.ABNORMAL):
        return fail_refund(notification.out_refund_no, notification.status.value)
    return False
