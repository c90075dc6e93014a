"""Orders: place, read, list, pay, cancel and refund."""

from __future__ import annotations

from flask import current_app, request

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.context import order_policy, payment_provider
from api.errors import ErrorSchema
from api.limits import limiter, per_caller
from api.orders.schemas import (
    OrderCreateSchema,
    OrderListQuerySchema,
    OrderSchema,
    PaymentStartSchema,
    PlacedOrderSchema,
    RefundCreateSchema,
    RefundSchema,
)
from services.kernel.errors import ValidationFailed
from services.sales import checkout, orders, payment_opening
from services.sales.orders import OrderRequest
from services.settlement import refunds

blp = Blueprint(
    "orders", __name__, url_prefix="/api/v1/orders", description="Buy one-yuan carbon sink or credits"
)

IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 128},
    "description": "Same key and body: the same order; same key, other body: 422",
}
IDEMPOTENCY_KEY_MAX = 128


def idempotency_key() -> str | None:
    """The request's Idempotency-Key, or None; a longer one is refused, never cut (two keys would collide)."""
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX:
        raise ValidationFailed(f"Idempotency-Key is at most {IDEMPOTENCY_KEY_MAX} characters.")
    return key


def _order_limit() -> str:
    return current_app.config["ORDER_RATE_LIMIT"]


def to_request(data: dict) -> OrderRequest:
    grams = (
        data.get("grams") or (data.get("kg") or 0) * 1_000 or (data.get("tonnes") or 0) * 1_000_000 or None
    )
    return OrderRequest(
        product=data["product"],
        units=data.get("units"),
        grams=grams if data["product"] == "credits" else None,
        project_id=data.get("project_id"),
        owner_id=data.get("owner_id"),
        holder_name=data.get("holder_name", ""),
        holder_typed=True,
    )


@blp.route("", methods=["POST"])
@limiter.limit(_order_limit, key_func=per_caller)
@auth_required()
@blp.arguments(OrderCreateSchema())
@blp.response(201, PlacedOrderSchema)
@blp.alt_response(404, schema=ErrorSchema, description="Unknown project")
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description="Not enough credits available, or my unpaid orders would hold more grams than one "
    "buyer may (`reservation_limit_reached`: the limit and what I hold already)",
)
@blp.alt_response(
    422,
    schema=ErrorSchema,
    description="Invalid order, reused Idempotency-Key, or a holder name WeChat's content security check "
    "refused (`content_refused`)",
)
@blp.alt_response(
    429,
    schema=ErrorSchema,
    description="I have as many unpaid orders as one buyer may (`too_many_open_orders`: pay or cancel one"
    " first; Retry-After says when the first one expires), or too many requests",
)
@blp.doc(parameters=[IDEMPOTENCY_HEADER])
def place(data):
    """Place an order; its grams are held until payment or expiry."""
    return checkout.place_order(
        current_principal(), to_request(data), order_policy(), payment_provider(), idempotency_key()
    )


@blp.route("", methods=["GET"])
@auth_required()
@blp.arguments(OrderListQuerySchema(), location="query")
@blp.response(200, OrderSchema(many=True))
@blp.paginate()
def list_mine(query, pagination_parameters):
    """List my orders, newest first (`before`: the ones after an order of the page before)."""
    rows, total = orders.list_orders(
        current_principal(),
        pagination_parameters.page,
        pagination_parameters.page_size,
        query.get("status"),
        query.get("before"),
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/<out_trade_no>", methods=["GET"])
@auth_required()
@blp.response(200, OrderSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such order of mine")
def get(out_trade_no):
    """Read one of my orders (an unpaid order past its time is expired first)."""
    return orders.get_order(current_principal(), out_trade_no)


@blp.route("/<out_trade_no>/payment", methods=["POST"])
@auth_required()
@blp.response(200, PaymentStartSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such order of mine")
@blp.alt_response(409, schema=ErrorSchema, description="The order is not open for payment")
@blp.alt_response(503, schema=ErrorSchema, description="WeChat Pay unreachable; try again")
def pay(out_trade_no):
    """Open (or reopen) the WeChat payment of an unpaid order."""
    result = payment_opening.start_payment(
        current_principal(), out_trade_no, payment_provider(), order_policy()
    )
    return {"request_payment": result.request_payment}


@blp.route("/<out_trade_no>/cancel", methods=["POST"])
@auth_required()
@blp.response(200, OrderSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such order of mine")
@blp.alt_response(409, schema=ErrorSchema, description="The order is no longer open")
def cancel(out_trade_no):
    """Cancel an unpaid order; its grams return to the pool."""
    return orders.cancel_order(current_principal(), out_trade_no)


@blp.route("/<out_trade_no>/refunds", methods=["POST"])
@auth_required()
@blp.arguments(RefundCreateSchema())
@blp.response(201, RefundSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Outside the refund window")
@blp.alt_response(404, schema=ErrorSchema, description="No such order of mine")
@blp.alt_response(409, schema=ErrorSchema, description="Not refundable now")
@blp.alt_response(422, schema=ErrorSchema, description="Invalid amount")
def refund(data, out_trade_no):
    """Ask for a refund of all or part of a fulfilled order."""
    return refunds.request_refund(
        current_principal(),
        out_trade_no,
        data.get("grams"),
        data["reason"],
        order_policy(),
        payment_provider(),
    )
