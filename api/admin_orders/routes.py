"""Admin endpoints on orders: list with filters, refund in full or in part, sync with WeChat Pay.

A bank-transfer order's refund is offline: recorded here, paid back by bank, then recorded as paid
out with the bank's reference (or cancelled before that).
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.context import order_policy, payment_provider
from api.errors import ErrorSchema
from api.fields import Integer, UtcDateTime
from api.orders.schemas import OrderSchema, RefundCreateSchema, RefundSchema
from payments.errors import NotFoundAtProvider, PaymentError
from services.kernel.errors import UpstreamError
from services.sales import orders
from services.settlement import bank_transfers, offline_refunds, payment_flow, refunds

blp = Blueprint("admin_orders", __name__, url_prefix="/api/v1/admin/orders", description="Admin: orders")

STATUSES = [
    "created",
    "awaiting_payment",
    "paid",
    "fulfilled",
    "cancelled",
    "expired",
    "partially_refunded",
    "refunded",
]


class AdminOrderQuerySchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    channel = ma.fields.String(
        validate=validate.OneOf(["one_yuan", "credits", "footprint_offset", "event", "institutional"])
    )
    user_id = Integer()
    project_id = Integer()
    since = UtcDateTime(metadata={"description": "Created at or after"})
    until = UtcDateTime(metadata={"description": "Created before"})


class TransferConfirmSchema(ma.Schema):
    reference = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=58),
        metadata={"description": "The bank's reference of the incoming transfer"},
    )
    amount_fen = Integer(
        required=True,
        validate=validate.Range(min=1, max=2**63 - 1),
        metadata={"description": "Amount received"},
    )


class RefundPayoutSchema(ma.Schema):
    bank_reference = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=58),
        metadata={"description": "The bank's reference of the transfer that paid the refund back"},
    )


class RefundCancelSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))


class SyncResultSchema(ma.Schema):
    outcome = ma.fields.String(metadata={"description": "not_paid, fulfilled, duplicate, refund_started"})
    order = ma.fields.Nested(OrderSchema)


@blp.route("", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(AdminOrderQuerySchema(), location="query")
@blp.response(200, OrderSchema(many=True))
@blp.paginate()
def list_all(query, pagination_parameters):
    """List all orders, newest first, with filters."""
    rows, total = orders.search_orders(
        page=pagination_parameters.page, page_size=pagination_parameters.page_size, **query
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/<out_trade_no>/refunds", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(RefundCreateSchema())
@blp.response(201, RefundSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such order")
@blp.alt_response(409, schema=ErrorSchema, description="Not refundable now")
@blp.alt_response(422, schema=ErrorSchema, description="Invalid amount")
def refund(data, out_trade_no):
    """Refund all or part of an order (no refund window for admins); bank-transfer orders offline."""
    return refunds.request_refund(
        current_principal(),
        out_trade_no,
        data.get("grams"),
        data["reason"],
        order_policy(),
        payment_provider(),
    )


@blp.route("/<out_trade_no>/refunds/<out_refund_no>/paid-out", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(RefundPayoutSchema())
@blp.response(200, RefundSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such order or refund")
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description="Not an offline refund, cancelled, or paid out under another reference",
)
def refund_paid_out(data, out_trade_no, out_refund_no):
    """Record that the bank paid an offline refund back; the refund completes once."""
    return offline_refunds.mark_paid_out(
        current_principal(), out_trade_no, out_refund_no, data["bank_reference"], order_policy()
    )


@blp.route("/<out_trade_no>/refunds/<out_refund_no>/cancel", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(RefundCancelSchema())
@blp.response(200, RefundSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such order or refund")
@blp.alt_response(409, schema=ErrorSchema, description="Not an offline refund waiting for its payout")
def refund_cancel(data, out_trade_no, out_refund_no):
    """Cancel an offline refund that was not paid out."""
    return offline_refunds.cancel(current_principal(), out_trade_no, out_refund_no, data["reason"])


@blp.route("/<out_trade_no>/sync", methods=["POST"])
@auth_required(admin=True)
@blp.response(200, SyncResultSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such order")
@blp.alt_response(409, schema=ErrorSchema, description="Not paid through WeChat Pay (a bank transfer)")
@blp.alt_response(503, schema=ErrorSchema, description="WeChat Pay unreachable, or it refused the query")
def sync(out_trade_no):
    """Ask WeChat Pay about an order and act on a payment it reports."""
    try:
        outcome = payment_flow.sync_with_provider(out_trade_no, payment_provider(), order_policy())
    except NotFoundAtProvider:
        outcome = None  # no trade was ever opened there: nothing was paid
    except PaymentError as exc:
        raise UpstreamError(f"WeChat Pay refused the query: {exc.code or 'no code'}.") from exc
    return {
        "outcome": outcome.outcome if outcome else "not_paid",
        "order": orders.get_order(current_principal(), out_trade_no),
    }


@blp.route("/<out_trade_no>/confirm-transfer", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(TransferConfirmSchema())
@blp.response(200, SyncResultSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such order")
@blp.alt_response(409, schema=ErrorSchema, description="The order is not paid by bank transfer")
@blp.alt_response(422, schema=ErrorSchema, description="The amount does not match the order")
def confirm_transfer(data, out_trade_no):
    """Confirm a bank transfer received for an order; the order is fulfilled once."""
    outcome, order = bank_transfers.confirm_transfer(
        current_principal(), out_trade_no, data["reference"], data["amount_fen"], order_policy()
    )
    return {"outcome": outcome.outcome, "order": order}
