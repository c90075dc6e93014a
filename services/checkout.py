"""Placing an order: reserve and record it, then open its payment."""

from __future__ import annotations

from dataclasses import dataclass

from models import Order
from payments.interface import PaymentProvider
from services import orders, payment_flow
from services.errors import InvalidState, UpstreamError
from services.order_policy import OrderPolicy
from services.tokens import Principal


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    request_payment: dict[str, str] | None
    payment_error: str | None = None


def place_order(
    principal: Principal,
    request: orders.OrderRequest,
    policy: OrderPolicy,
    provider: PaymentProvider,
    idempotency_key: str | None = None,
) -> PlacedOrder:
    """Create the order (idempotently) and open its payment; a payment that cannot open yet keeps the order."""
    order_id = orders.create_order(principal, request, policy, provider.name, idempotency_key)
    try:
        prepay = payment_flow.open_payment(order_id, provider, policy)
    except UpstreamError as exc:
        return PlacedOrder(orders.load_order(order_id), None, exc.message)
    except InvalidState:
        # A replayed Idempotency-Key for an order that is no longer open: answer with the order as it is.
        return PlacedOrder(orders.load_order(order_id), None, "The order is no longer open for payment.")
    return PlacedOrder(orders.load_order(order_id), prepay.request_payment)
