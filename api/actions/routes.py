"""Low-carbon actions: WeRun steps and transit trips earn reductions and points; the user's own record."""

from __future__ import annotations

from api.actions.policy import action_policy, init_policy
from api.actions.schemas import (
    ActionQuerySchema,
    ActionSchema,
    ReductionsQuerySchema,
    ReductionsSchema,
    TripCreateSchema,
    WeRunResultSchema,
    WeRunUploadSchema,
)
from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from services.actions import actions

blp = Blueprint("actions", __name__, url_prefix="/api/v1", description="Low-carbon actions")
blp.record_once(init_policy)


@blp.route("/actions/werun", methods=["POST"])
@auth_required()
@blp.arguments(WeRunUploadSchema())
@blp.response(200, WeRunResultSchema)
@blp.alt_response(409, schema=ErrorSchema, description="This WeRun data was already received (a replay)")
@blp.alt_response(
    422,
    schema=ErrorSchema,
    description="Missing fields; data that does not decrypt with your WeChat session, is stale, "
    "or belongs to another mini-program; or an expired WeChat session",
)
@blp.alt_response(
    503, schema=ErrorSchema, description="The session store is unreachable, or WeRun is not set up"
)
def upload_werun(body):
    """Send `wx.getWeRunData`'s encrypted steps; each day is credited once, upward only."""
    return actions.record_werun(
        current_principal().user_id, body["encryptedData"], body["iv"], action_policy()
    )


@blp.route("/actions/trips", methods=["POST"])
@auth_required()
@blp.arguments(TripCreateSchema())
@blp.response(201, ActionSchema)
@blp.alt_response(200, schema=ActionSchema, description="This trip id was recorded before: the same action")
@blp.alt_response(
    409, schema=ErrorSchema, description="The trip id is claimed by someone else or with other details"
)
@blp.alt_response(422, schema=ErrorSchema, description="Invalid mode, distance or date")
def record_trip(body):
    """Record a bus or metro trip; its saving is credited within the daily cap."""
    result = actions.record_trip(
        current_principal().user_id,
        body["mode"],
        body["km"],
        action_policy(),
        on=body.get("date"),
        trip_ref=body.get("trip_ref"),
    )
    return result.action, 201 if result.created else 200


@blp.route("/me/actions")
@auth_required()
@blp.arguments(ActionQuerySchema(), location="query")
@blp.response(200, ActionSchema(many=True))
@blp.paginate()
def my_actions(query, pagination_parameters):
    """My low-carbon actions, newest day first."""
    items, total = actions.list_my_actions(
        current_principal().user_id,
        page=pagination_parameters.page,
        page_size=pagination_parameters.page_size,
        **query,
    )
    pagination_parameters.item_count = total
    return items


@blp.route("/me/reductions")
@auth_required()
@blp.arguments(ReductionsQuerySchema(), location="query")
@blp.response(200, ReductionsSchema)
def my_reductions(query):
    """My credited reductions: all time, by kind, by day and by week."""
    return actions.my_reductions(current_principal().user_id, days=query["days"], weeks=query["weeks"])
