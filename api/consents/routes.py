"""My consents to bank partners: grant, list, revoke; and the log of partners' reads of my data."""

from __future__ import annotations

from typing import Any

from flask import current_app

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.consents.schemas import AccessSchema, ConsentCreateSchema, ConsentSchema, PartnerBriefSchema
from api.errors import ErrorSchema
from services.rewards import consents, partners

blp = Blueprint("consents", __name__, url_prefix="/api/v1", description="Consents to bank partners")


@blp.route("/partners", methods=["GET"])
@auth_required()
@blp.response(200, PartnerBriefSchema(many=True))
@blp.paginate()
def list_partners(pagination_parameters):
    """List the bank partners a consent can be given to."""
    rows, total = partners.list_partners(
        page=pagination_parameters.page, page_size=pagination_parameters.page_size, active_only=True
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/me/consents", methods=["POST"])
@auth_required()
@blp.arguments(ConsentCreateSchema())
@blp.response(201, ConsentSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such partner")
@blp.alt_response(
    422, schema=ErrorSchema, description="Invalid scopes, or an expiry in the past or too far ahead"
)
def grant(data: dict[str, Any]):
    """Let a bank partner read some of my carbon data until a given time."""
    return consents.grant(
        current_principal().user_id,
        data["partner_id"],
        data["scopes"],
        data["expires_at"],
        current_app.config["PARTNER_CONSENT_MAX_DAYS"],
    )


@blp.route("/me/consents", methods=["GET"])
@auth_required()
@blp.response(200, ConsentSchema(many=True))
@blp.paginate()
def list_mine(pagination_parameters):
    """List my consents, newest first, with their state."""
    rows, total = consents.list_mine(
        current_principal().user_id,
        page=pagination_parameters.page,
        page_size=pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/me/consents/<int:consent_id>", methods=["DELETE"])
@auth_required()
@blp.response(200, ConsentSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such consent of mine")
def revoke(consent_id: int):
    """Revoke one of my consents at once."""
    return consents.revoke(current_principal().user_id, consent_id)


@blp.route("/me/consents/access-log", methods=["GET"])
@auth_required()
@blp.response(200, AccessSchema(many=True))
@blp.paginate()
def access_log(pagination_parameters):
    """List the bank partners' reads of my data, allowed or refused, newest first."""
    rows, total = consents.access_log(
        current_principal().user_id,
        page=pagination_parameters.page,
        page_size=pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    return rows
