"""The signed API of bank partners: a user's green tier and points summary, within the user's consent."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.context import tier_policy
from api.errors import ErrorSchema
from api.partner_api.schemas import CarbonQuerySchema, CarbonViewSchema
from api.partner_auth import current_partner_id, partner_signed
from services import consents

blp = Blueprint(
    "partner_api", __name__, url_prefix="/api/v1/partner", description="For bank partners (signed requests)"
)


@blp.route("/users/<string:identifier>/carbon", methods=["GET"])
@partner_signed
@blp.arguments(CarbonQuerySchema(), location="query")
@blp.response(200, CarbonViewSchema)
@blp.alt_response(
    403, schema=ErrorSchema, description="The user has not granted these scopes (or no consent)"
)
def carbon(query: dict[str, Any], identifier: str):
    """Read a user's green tier and/or points summary (by openid or unionid), as far as the user consented."""
    return consents.partner_read(current_partner_id(), identifier, query.get("scopes"), tier_policy())
