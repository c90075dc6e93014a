"""Subscribe messages: the mini-program reports what the user accepted; the user sees what is left."""

from __future__ import annotations

from typing import Any

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.subscriptions.schemas import AllowanceSchema, SubscribeResultsSchema
from services.notifications import message_settings, subscriptions

blp = Blueprint("subscriptions", __name__, url_prefix="/api/v1", description="Subscribe messages (订阅消息)")


@blp.route("/me/subscriptions")
@auth_required()
@blp.response(200, AllowanceSchema(many=True))
@blp.paginate()
def my_subscriptions(pagination_parameters):
    """The messages each template switched on still allows me (each accept allows one)."""
    items, total = subscriptions.allowances_page(
        current_principal().user_id,
        message_settings.current(),
        pagination_parameters.page,
        pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    return items


@blp.route("/me/subscriptions", methods=["POST"])
@auth_required()
@blp.arguments(SubscribeResultsSchema())
@blp.response(200, AllowanceSchema(many=True))
@blp.alt_response(422, schema=ErrorSchema, description="A template id not configured, or too many")
def report_subscriptions(body: dict[str, Any]):
    """Report what `wx.requestSubscribeMessage` answered; answers what each template now allows me."""
    settings = message_settings.current()
    user_id = current_principal().user_id
    subscriptions.record_results(user_id, body["results"], settings)
    return subscriptions.allowances(user_id, settings)
