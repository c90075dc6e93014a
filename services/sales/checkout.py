"""Placing an order: price it, open its WeChat payment, then reserve and record it in one transaction.

The payment is opened first, while no row is locked: WeChat Pay answers in its own time, and the
order's transaction stays short. A person over a cap on unpaid orders (`order_caps`) is refused
before WeChat Pay is asked. A prepay whose order could not be recorded (the pool sold out or a cap
was reached meanwhile) is never shown to the buyer and is closed; if WeChat Pay cannot be reached
the order is recorded anyway and its payment opened later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from models import Order, User, utcnow
from models.database import single_read
from payments.errors import GatewayError, PaymentError
from payments.interface import PaymentProvider, PrepayRequest, PrepayResult
from services.accounts import content_check
from services.accounts.tokens import Principal
from services.kernel.errors import (
    InsufficientCredits,
    InvalidState,
    PaymentRequired,
    ReservationLimitReached,
    TooManyOpenOrders,
    UpstreamError,
    ValidationFailed,
)
from services.sales import order_caps, orders, payment_opening
from services.sales.order_policy import OrderPolicy
from services.sales.order_rows import WrittenOrder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlacedOrder:
    order: Order | WrittenOrder
    request_payment: dict[str, str] | None
    payment_error: str | None = None


def place_order(
    principal: Principal,
    request: orders.OrderRequest,
    policy: OrderPolicy,
    provider: PaymentProvider,
    idempotency_key: str | None = None,
) -> PlacedOrder:
    """Place an order and open its payment; the same Idempotency-Key and body give the same order."""
    request_hash = orders.fingerprint(request) if idempotency_key else ""
    if idempotency_key:
        existing = orders.replayed_order_id(principal.user_id, idempotency_key, request_hash)
        if existing is not None:
            return _again(existing, provider, policy)
    priced = orders.quote(request, policy)
    if request.organisation_id is None:
        # Refused early, before WeChat Pay is asked; the order's own transaction checks again, locked.
        payer_openid = order_caps.payer_checked(principal.user_id, priced.grams, policy)
    else:
        payer_openid = _openid_of(principal.user_id)
    if not payer_openid:
        raise ValidationFailed(
            "This account has no WeChat openid to pay with.", errors={"user": ["no openid"]}
        )
    holder = _screened_holder(principal, request)
    now = utcnow()
    out_trade_no = orders.new_out_trade_no(now)
    if holder is not None:
        # Before the order exists, so that its holder is never public unchecked; a row whose order
        # is never recorded is dropped by the re-check.
        content_check.record(
            content_check.HOLDER_NAME, out_trade_no, request.holder_name, holder, principal.user_id
        )
    expires_at = now + timedelta(seconds=policy.reservation_ttl_s)
    prepay, payment_error = _prepay(payer_openid, priced, request, out_trade_no, expires_at, provider, policy)
    try:
        order = orders.record_order(
            principal,
            request,
            priced,
            provider.name,
            policy=policy,
            out_trade_no=out_trade_no,
            expires_at=expires_at,
            prepay_id=prepay.prepay_id if prepay else None,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
        )
    except orders.ReplayedOrder as replay:
        _close_quietly(provider, out_trade_no, prepay)
        return _again(replay.order_id, provider, policy)
    except (InsufficientCredits, TooManyOpenOrders, ReservationLimitReached):
        _close_quietly(provider, out_trade_no, prepay)
        raise
    return PlacedOrder(order, prepay.request_payment if prepay else None, payment_error)


def _screened_holder(principal: Principal, request: orders.OrderRequest) -> content_check.Verdict | None:
    """WeChat's content security check of a holder name the buyer typed: ContentRefused when it is
    risky; None when there is nothing to record (no typed name, or it passed)."""
    if not request.holder_typed or not request.holder_name.strip():
        return None
    verdict = content_check.screen(principal.user_id, "holder_name", request.holder_name)
    return None if verdict.status == "pass" else verdict


def _openid_of(user_id: int) -> str | None:
    # Read here, not carried in the principal: the cached principal holds no personal identifier.
    with single_read() as connection:
        return connection.execute(select(User.openid).where(User.id == user_id)).scalar()


def _prepay(
    payer_openid, priced, request, out_trade_no, expires_at, provider, policy
) -> tuple[PrepayResult | None, str | None]:
    prepay_request = PrepayRequest(
        out_trade_no=out_trade_no,
        description=payment_opening.description(priced.grams, request.units),
        amount_fen=priced.amount_fen,
        payer_openid=payer_openid,
        time_expire=expires_at,
        notify_url=payment_opening.notify_url(policy, provider),
    )
    try:
        return provider.prepay(prepay_request), None
    except GatewayError:
        return None, "WeChat Pay could not be reached; the order is kept, open its payment again."
    except PaymentError as exc:
        raise PaymentRequired(f"WeChat Pay refused the payment: {exc}") from exc


def _close_quietly(provider: PaymentProvider, out_trade_no: str, prepay: PrepayResult | None) -> None:
    if prepay is None:
        return
    try:
        provider.close(out_trade_no)
    except (GatewayError, PaymentError) as exc:  # never paid, never shown: it expires at WeChat by itself
        log.info("closing unused prepay %s failed: %s", out_trade_no, exc)


def _again(order_id: int, provider: PaymentProvider, policy: OrderPolicy) -> PlacedOrder:
    """The answer to a replayed request: the order as it is, with its payment reopened while it is open."""
    try:
        prepay = payment_opening.open_payment(order_id, provider, policy)
    except UpstreamError as exc:
        return PlacedOrder(orders.load_order(order_id), None, exc.message)
    except InvalidState:
        return PlacedOrder(orders.load_order(order_id), None, "The order is no longer open for payment.")
    return PlacedOrder(orders.load_order(order_id), prepay.request_payment)
