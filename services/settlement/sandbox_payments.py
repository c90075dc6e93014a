"""The embedded demo's payment: the sandbox provider reports the order paid at once."""

from __future__ import annotations

from payments.interface import PaymentProvider
from services.accounts.tokens import Principal
from services.kernel.errors import InvalidState, NotFound
from services.sales import orders, payment_opening
from services.sales.order_policy import OrderPolicy
from services.settlement import payment_flow


def pay(
    principal: Principal, out_trade_no: str, provider: PaymentProvider, policy: OrderPolicy
) -> payment_flow.PaymentOutcome:
    """Complete the payment of the caller's open order through the sandbox provider."""
    complete = getattr(provider, "complete", None)
    if complete is None:
        raise NotFound("Payments are not the sandbox here.")
    order = orders.get_order(principal, out_trade_no)
    if order.status not in ("created", "awaiting_payment"):
        raise InvalidState(f"Order {out_trade_no} is {order.status.value}; it cannot be paid.")
    # The sandbox keeps trades in memory: reopen the payment (idempotent) in case this process is new.
    payment_opening.start_payment(principal, out_trade_no, provider, policy)
    return payment_flow.handle_payment_notification(
        complete(out_trade_no, order.amount_fen), provider.name, policy
    )
