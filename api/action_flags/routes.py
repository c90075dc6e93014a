"""Admin review of flagged actions: list the claims held back, accept or reject them (audit-logged)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.actions.policy import action_policy, init_policy
from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.fields import Day, Integer, UtcDateTime
from models import ActionKind, ActionStatus
from services.actions import action_review

blp = Blueprint(
    "action_flags", __name__, url_prefix="/api/v1/admin/action-flags", description="Admin: flagged actions"
)
blp.record_once(init_policy)


class FlagQuerySchema(ma.Schema):
    decision = ma.fields.String(
        load_default="pending",
        validate=validate.OneOf(action_review.DECISION_FILTERS),
        metadata={"description": "`pending` (default, oldest first), `accepted`, `rejected` or `any`"},
    )


class FlagDecisionSchema(ma.Schema):
    decision = ma.fields.String(required=True, validate=validate.OneOf(sorted(action_review.VERBS)))
    note = ma.fields.String(load_default="", validate=validate.Length(max=255))


class FlagSchema(ma.Schema):
    id = Integer(required=True)
    reasons = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "`steps_above_limit`, `flat_steps_run`, `trip_too_long`"},
    )
    detail = ma.fields.String(required=True)
    claimed_quantity = Integer(required=True, metadata={"description": "Steps or metres claimed"})
    prior_quantity = Integer(
        allow_none=True, metadata={"description": "What was credited before the claim; null for a new action"}
    )
    at = UtcDateTime(required=True)
    decision = ma.fields.String(allow_none=True)
    reviewed_by = Integer(allow_none=True)
    decided_at = UtcDateTime(allow_none=True)
    note = ma.fields.String(required=True)
    user_id = Integer(required=True)
    user_display_name = ma.fields.String(required=True)
    action_id = Integer(required=True)
    kind = ma.fields.Enum(ActionKind, by_value=True, required=True)
    date = Day(required=True)
    status = ma.fields.Enum(ActionStatus, by_value=True, required=True)
    quantity = Integer(required=True)
    reduction_g = Integer(required=True)
    points = Integer(required=True)


@blp.route("", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(FlagQuerySchema(), location="query")
@blp.response(200, FlagSchema(many=True))
@blp.paginate()
def list_flags(query, pagination_parameters):
    """List flagged actions (pending ones by default, oldest first)."""
    items, total = action_review.list_flags(
        query["decision"], page=pagination_parameters.page, page_size=pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return items


@blp.route("/<int:flag_id>/decision", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(FlagDecisionSchema())
@blp.response(200, FlagSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such flag")
@blp.alt_response(409, schema=ErrorSchema, description="The flag was already decided")
@blp.alt_response(422, schema=ErrorSchema, description="Decision missing or unknown")
def decide(body, flag_id):
    """Accept a flagged claim (credit and points) or reject it (audit-logged)."""
    return action_review.decide_flag(
        current_principal().user_id, flag_id, body["decision"], body["note"], action_policy()
    )
