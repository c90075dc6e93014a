"""Personal footprints: calculate and keep, history, trend, and offset one in one tap."""

from __future__ import annotations

from flask import current_app

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.context import order_policy, payment_provider
from api.errors import ErrorSchema
from api.footprints.schemas import (
    FootprintInputSchema,
    FootprintOffsetSchema,
    FootprintSchema,
    TrendPointSchema,
    TrendQuerySchema,
)
from api.limits import limiter, per_caller
from api.orders.routes import IDEMPOTENCY_HEADER, _order_limit, idempotency_key
from api.orders.schemas import PlacedOrderSchema
from models import PeriodType
from services.footprint import footprints

blp = Blueprint("footprints", __name__, url_prefix="/api/v1", description="Personal carbon footprint")


@blp.route("/footprints/calculate", methods=["POST"])
@auth_required()
@blp.arguments(FootprintInputSchema())
@blp.response(201, FootprintSchema)
@blp.alt_response(409, schema=ErrorSchema, description="No factor set is published yet")
@blp.alt_response(
    422, schema=ErrorSchema, description="Invalid inputs: negative, implausible, unknown city, fuel or unit"
)
def calculate(data):
    """Calculate my footprint for a month or a year and keep it in my history."""
    return footprints.calculate_footprint(
        current_principal(),
        data,
        current_app.config["ONE_YUAN_UNIT_G"],
        current_app.config["ONE_YUAN_UNIT_PRICE_FEN"],
    )


@blp.route("/me/footprints", methods=["GET"])
@auth_required()
@blp.response(200, FootprintSchema(many=True))
@blp.paginate()
def list_mine(pagination_parameters):
    """List my footprints, newest first."""
    rows, total = footprints.list_footprints(
        current_principal().user_id, pagination_parameters.page, pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/me/footprints/trend", methods=["GET"])
@auth_required()
@blp.arguments(TrendQuerySchema(), location="query")
@blp.response(200, TrendPointSchema(many=True))
def my_trend(query):
    """My totals per month or year, oldest first (the latest calculation of each period)."""
    return footprints.trend(current_principal().user_id, PeriodType(query["period_type"]), query["limit"])


@blp.route("/me/footprints/<int:footprint_id>", methods=["GET"])
@auth_required()
@blp.response(200, FootprintSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such footprint of mine")
def get(footprint_id):
    """Read one of my footprints with its breakdown and the factor version it used."""
    return footprints.get_footprint(current_principal().user_id, footprint_id)


@blp.route("/me/footprints/<int:footprint_id>/offset", methods=["POST"])
@limiter.limit(_order_limit, key_func=per_caller)
@auth_required()
@blp.arguments(FootprintOffsetSchema(), required=False)
@blp.response(201, PlacedOrderSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such footprint of mine, or unknown project")
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description="Not enough credits available, or my unpaid orders would hold more grams than one "
    "buyer may (`reservation_limit_reached`: the limit and what I hold already)",
)
@blp.alt_response(
    422,
    schema=ErrorSchema,
    description="Nothing to offset, too many units, a project not sold as one-yuan carbon sink, a "
    "reused Idempotency-Key, or a holder name WeChat's content security check refused (`content_refused`)",
)
@blp.alt_response(
    429,
    schema=ErrorSchema,
    description="I have as many unpaid orders as one buyer may (`too_many_open_orders`: pay or cancel one"
    " first; Retry-After says when the first one expires), or too many requests",
)
@blp.doc(parameters=[IDEMPOTENCY_HEADER])
def offset(data, footprint_id):
    """Offset one of my footprints in one tap: a one-yuan order of its total rounded up to whole units.

    The body is optional: the certificate's holder name and the project or owner to buy from, as in
    an order.
    """
    return footprints.offset_footprint(
        current_principal(),
        footprint_id,
        order_policy(),
        payment_provider(),
        idempotency_key(),
        holder_name=data.get("holder_name", ""),
        project_id=data.get("project_id"),
        owner_id=data.get("owner_id"),
    )
