"""Rewards: the public catalogue, redeeming with carbon points, and my redemptions."""

from __future__ import annotations

from typing import Any

from flask import current_app

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.limits import limiter, per_caller
from api.rewards.schemas import (
    IdempotencyHeaderSchema,
    RedeemSchema,
    RedemptionSchema,
    RewardItemSchema,
    RewardQuerySchema,
)
from services.rewards import rewards
from services.rewards.rewards import RedeemRequest

blp = Blueprint("rewards", __name__, url_prefix="/api/v1", description="Rewards bought with carbon points")


@blp.route("/rewards", methods=["GET"])
@blp.arguments(RewardQuerySchema(), location="query")
@blp.response(200, RewardItemSchema(many=True))
@blp.paginate()
def list_rewards(query: dict[str, Any], pagination_parameters):
    """List the rewards on offer (upcoming ones included), by id."""
    items, total = rewards.list_items(
        kind=query.get("kind"), page=pagination_parameters.page, page_size=pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return items


@blp.route("/rewards/<int:item_id>", methods=["GET"])
@blp.response(200, RewardItemSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such reward on offer")
def get_reward(item_id: int):
    """Show one reward."""
    return rewards.get_item(item_id)


@blp.route("/rewards/<int:item_id>/redeem", methods=["POST"])
@limiter.limit(lambda: current_app.config["REDEEM_RATE_LIMIT"], key_func=per_caller)
@auth_required()
@blp.arguments(IdempotencyHeaderSchema(), location="headers")
@blp.arguments(RedeemSchema())
@blp.response(201, RedemptionSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such reward")
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description="Not enough points, out of stock or codes, not redeemable now, or the per-person limit reached",
)
@blp.alt_response(422, schema=ErrorSchema, description="Invalid body, missing or reused Idempotency-Key")
def redeem(headers: dict[str, Any], body: dict[str, Any], item_id: int):
    """Redeem one unit of a reward with my points."""
    return rewards.redeem(
        current_principal().user_id,
        RedeemRequest(item_id=item_id, note=body["note"]),
        headers["idempotency_key"],
    )


@blp.route("/me/redemptions", methods=["GET"])
@auth_required()
@blp.response(200, RedemptionSchema(many=True))
@blp.paginate()
def my_redemptions(pagination_parameters):
    """List my redemptions, newest first."""
    rows, total = rewards.my_redemptions(
        current_principal().user_id, pagination_parameters.page, pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return rows
