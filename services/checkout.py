"""Placing an order: reserve and record it, then open its payment."""

from __future__ import annotations

from dataclasses import dataclass

from models import Order
from payments.interface import PaymentProvider
from services import orders, payment_flow
from services.errors import UpstreamError
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
    out_trade_no = orders.order_number(order_id)
    try:
        prepay = payment_flow.start_payment(principal, out_trade_no, provider, policy)
    except UpstreamError as exc:
        return PlacedOrder(orders.get_order(principal, out_trade_no), None, exc.message)
    return PlacedOrder(orders.get_order(principal, out_trade_no), prepay.request_payment)
