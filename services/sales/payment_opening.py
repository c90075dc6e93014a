"""Opening an order's payment at WeChat Pay (or the sandbox): the prepay request and its notify URL.

What happens once WeChat Pay says the order is paid is settlement's (`services.settlement.payment_flow`).
"""

from __future__ import annotations

from sqlalchemy import select

from models import Order, User
from models.database import read_session, unit_of_work
from payments.errors import GatewayError, PaymentError
from payments.interface import PaymentProvider, PrepayRequest, PrepayResult
from services.accounts.tokens import Principal
from services.kernel.errors import InvalidState, PaymentRequired, UpstreamError, ValidationFailed
from services.sales import order_states, orders
from services.sales.order_policy import OrderPolicy

# The provider name of an order paid by bank transfer: no trade at WeChat Pay, an admin confirms it.
BANK_TRANSFER = "bank_transfer"


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
    if not grams:
        return "认建认养捐资 tree adoption donation"
    kg = grams / 1000
    return f"碳汇 {kg:g} kg CO2e" if units is None else f"一元碳汇 {units} 份 ({kg:g} kg CO2e)"
