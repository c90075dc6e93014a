"""The signed API of bank partners: a user's green tier and points summary, within the user's consent."""

from __future__ import annotations

from typing import Any

from api.blueprint import Blueprint
from api.context import tier_policy
from api.errors import ErrorSchema
from api.partner_api.schemas import CarbonReadSchema, CarbonViewSchema
from api.partner_auth import current_partner_id, partner_signed
from services.rewards import consents

blp = Blueprint(
    "partner_api", __name__, url_prefix="/api/v1/partner", description="For bank partners (signed requests)"
)


# The user travels in the signed body: an openid or unionid in a path would land in every access log.
@blp.route("/carbon-reads", methods=["POST"])
@partner_signed
@blp.arguments(CarbonReadSchema())
@blp.response(200, CarbonViewSchema)
@blp.alt_response(
    403, schema=ErrorSchema, description="The user has not granted these scopes (or no consent)"
)
def carbon(body: dict[str, Any]) -> dict[str, Any]:
    """Read a user's green tier and/or points summary (by openid or unionid), as far as the user consented."""
    return consents.partner_read(current_partner_id(), body["user"], body.get("scopes"), tier_policy())
