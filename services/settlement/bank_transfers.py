"""Bank transfers confirmed by an admin, fed to the payment flow like any payment notification."""

from __future__ import annotations

from models import Order, utcnow
from models.database import unit_of_work
from payments.interface import PaymentNotification, TradeState
from services.accounts.tokens import Principal
from services.kernel import audit
from services.kernel.errors import InvalidState
from services.sales import orders
from services.sales.order_policy import OrderPolicy
from services.sales.payment_opening import BANK_TRANSFER
from services.settlement import payment_flow
from services.settlement.payment_flow import PaymentOutcome


def confirm_transfer(
    principal: Principal, out_trade_no: str, reference: str, amount_fen: int, policy: OrderPolicy
) -> tuple[PaymentOutcome, Order]:
    """Record that the bank received `amount_fen` for the order under `reference`; fulfil it once."""
    principal.require_admin()
    order = orders.get_order(principal, out_trade_no)
    if order.provider != BANK_TRANSFER:
        raise InvalidState(f"Order {out_trade_no} is not paid by bank transfer.", provider=order.provider)
    notification = PaymentNotification(
        out_trade_no=out_trade_no,
        transaction_id=f"BANK-{reference.strip()}"[:64],
        trade_state=TradeState.SUCCESS,
        amount_fen=amount_fen,
        appid="",
        mchid="",
        payer_openid="",
        success_time=utcnow(),
        raw={"bank_reference": reference, "confirmed_by": principal.user_id},
    )
    before = {"status": order.status.value, "transaction_id": order.transaction_id}
    outcome = payment_flow.handle_payment_notification(notification, BANK_TRANSFER, policy)
    order = orders.load_order(order.id)
    with unit_of_work() as session:
        audit.record(
            session,
            principal.user_id,
            "order.confirm_transfer",
            "order",
            order.id,
            before,
            {
                "status": order.status.value,
                "transaction_id": order.transaction_id,
                "outcome": outcome.outcome,
            },
        )
    return outcome, order
