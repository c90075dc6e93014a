"""Carbon points: a user's balance and history; admins adjust a user's points."""

from __future__ import annotations

from typing import Any

from flask import current_app

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.points.schemas import PointsAdjustmentSchema, PointsEntrySchema, PointsSummarySchema
from services.points import points

blp = Blueprint("points", __name__, url_prefix="/api/v1", description="Carbon points")


@blp.route("/me/points")
@auth_required()
@blp.response(200, PointsSummarySchema)
def my_points():
    """My points: spendable balance, pending and lifetime earned."""
    return points.balance(current_principal().user_id)


@blp.route("/me/points/history")
@auth_required()
@blp.response(200, PointsEntrySchema(many=True))
@blp.paginate()
def my_points_history(pagination_parameters):
    """My points ledger, newest first."""
    entries, total = points.history(
        current_principal().user_id, pagination_parameters.page, pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return entries


@blp.route("/admin/points/adjust", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(PointsAdjustmentSchema())
@blp.response(201, PointsEntrySchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such user")
@blp.alt_response(409, schema=ErrorSchema, description="Takes more points than the user has available")
@blp.alt_response(
    422, schema=ErrorSchema, description="Invalid input, or a reference reused for another adjustment"
)
def adjust_points(body: dict[str, Any]):
    """Add points to a user or take them away (audit-logged)."""
    return points.adjust(
        current_principal().user_id,
        body["user_id"],
        body["points"],
        body["reason"],
        reference=body.get("reference"),
        expiry_days=current_app.config["POINTS_EXPIRY_DAYS"],
    )
