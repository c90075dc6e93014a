"""Admin endpoints for reward items, coupon codes and redemptions; every write is audited."""

from __future__ import annotations

from typing import Any

from flask import current_app

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.rewards_admin.schemas import (
    AdminRedemptionQuerySchema,
    AdminRedemptionSchema,
    AdminRewardItemSchema,
    AdminRewardQuerySchema,
    CodeLoadSchema,
    CodesGenerateSchema,
    CodesLoadSchema,
    RewardItemCreateSchema,
    RewardItemUpdateSchema,
    TransitionSchema,
)
from models import RedemptionState
from services.rewards import rewards_admin

blp = Blueprint(
    "rewards_admin", __name__, url_prefix="/api/v1/admin", description="Admin: rewards, codes and redemptions"
)


def _actor() -> int:
    return current_principal().user_id


@blp.route("/rewards", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(AdminRewardQuerySchema(), location="query")
@blp.response(200, AdminRewardItemSchema(many=True))
@blp.paginate()
def list_rewards(query: dict[str, Any], pagination_parameters):
    """List every reward item, newest first."""
    items, total = rewards_admin.list_items(
        page=pagination_parameters.page, page_size=pagination_parameters.page_size, **query
    )
    pagination_parameters.item_count = total
    return items


@blp.route("/rewards", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(RewardItemCreateSchema())
@blp.response(201, AdminRewardItemSchema)
def create_reward(data: dict[str, Any]):
    """Add a reward item."""
    return rewards_admin.create_item(_actor(), data)


@blp.route("/rewards/<int:item_id>", methods=["GET"])
@auth_required(admin=True)
@blp.response(200, AdminRewardItemSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such reward")
def get_reward(item_id: int):
    """Show a reward item, active or not."""
    return rewards_admin.get_item(item_id)


@blp.route("/rewards/<int:item_id>", methods=["PATCH"])
@auth_required(admin=True)
@blp.arguments(RewardItemUpdateSchema())
@blp.response(200, AdminRewardItemSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such reward")
@blp.alt_response(
    422, schema=ErrorSchema, description="Invalid change, e.g. a window that ends before it starts"
)
def update_reward(changes: dict[str, Any], item_id: int):
    """Change a reward item (stock sets the units left now)."""
    return rewards_admin.update_item(_actor(), item_id, changes)


@blp.route("/rewards/<int:item_id>/codes", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(CodesLoadSchema())
@blp.response(201, CodeLoadSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such reward")
@blp.alt_response(409, schema=ErrorSchema, description="Codes exist already, or the item does not use codes")
@blp.alt_response(422, schema=ErrorSchema, description="Invalid or repeated codes")
def load_codes(data: dict[str, Any], item_id: int):
    """Load coupon codes into a reward item."""
    return rewards_admin.add_codes(_actor(), item_id, data["codes"])


@blp.route("/rewards/<int:item_id>/codes/generate", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(CodesGenerateSchema())
@blp.response(201, CodeLoadSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such reward")
@blp.alt_response(409, schema=ErrorSchema, description="The item does not use codes")
def generate_codes(data: dict[str, Any], item_id: int):
    """Generate random coupon codes for a reward item."""
    return rewards_admin.generate_codes(_actor(), item_id, data["count"], data["prefix"], data["length"])


@blp.route("/redemptions", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(AdminRedemptionQuerySchema(), location="query")
@blp.response(200, AdminRedemptionSchema(many=True))
@blp.paginate()
def list_redemptions(query: dict[str, Any], pagination_parameters):
    """List redemptions, newest first, with filters."""
    rows, total = rewards_admin.list_redemptions(
        page=pagination_parameters.page, page_size=pagination_parameters.page_size, **query
    )
    pagination_parameters.item_count = total
    return rows


def _move(redemption_id: int, target: RedemptionState, note: str):
    return rewards_admin.move_redemption(
        _actor(),
        redemption_id,
        target,
        note,
        refund_expiry_days=current_app.config["POINTS_EXPIRY_DAYS"],
    )


@blp.route("/redemptions/<int:redemption_id>/issue", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(TransitionSchema())
@blp.response(200, AdminRedemptionSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such redemption")
@blp.alt_response(409, schema=ErrorSchema, description="Only a pending redemption can be issued")
def issue(data: dict[str, Any], redemption_id: int):
    """Mark a redemption issued (sent, handed over)."""
    return _move(redemption_id, RedemptionState.ISSUED, data["note"])


@blp.route("/redemptions/<int:redemption_id>/use", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(TransitionSchema())
@blp.response(200, AdminRedemptionSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such redemption")
@blp.alt_response(409, schema=ErrorSchema, description="Only an issued redemption can be used")
def use(data: dict[str, Any], redemption_id: int):
    """Mark a redemption used (the voucher or service was taken up)."""
    return _move(redemption_id, RedemptionState.USED, data["note"])


@blp.route("/redemptions/<int:redemption_id>/cancel", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(TransitionSchema())
@blp.response(200, AdminRedemptionSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such redemption")
@blp.alt_response(409, schema=ErrorSchema, description="A used or cancelled redemption cannot be cancelled")
def cancel(data: dict[str, Any], redemption_id: int):
    """Cancel a redemption: its points go back to the user and its unit back to stock."""
    return _move(redemption_id, RedemptionState.CANCELLED, data["note"])
