"""Admin endpoints for bank partners: register, rename or deactivate, renew the secret; all audited."""

from __future__ import annotations

from typing import Any

from flask import current_app

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.partners_admin.schemas import (
    PartnerCreateSchema,
    PartnerSchema,
    PartnerUpdateSchema,
    PartnerWithSecretSchema,
)
from services.rewards import partners

blp = Blueprint(
    "partners_admin", __name__, url_prefix="/api/v1/admin/partners", description="Admin: bank partners"
)


@blp.route("", methods=["GET"])
@auth_required(admin=True)
@blp.response(200, PartnerSchema(many=True))
@blp.paginate()
def list_partners(pagination_parameters):
    """List bank partners by name (never their secrets)."""
    rows, total = partners.list_partners(
        page=pagination_parameters.page, page_size=pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(PartnerCreateSchema())
@blp.response(201, PartnerWithSecretSchema)
@blp.alt_response(409, schema=ErrorSchema, description="A partner with this name exists")
def create_partner(data: dict[str, Any]):
    """Register a bank partner; the answer shows its signing secret this once."""
    return partners.create_partner(
        current_principal().user_id, data["name"], current_app.config["SECRET_KEY"]
    )


@blp.route("/<int:partner_id>", methods=["PATCH"])
@auth_required(admin=True)
@blp.arguments(PartnerUpdateSchema())
@blp.response(200, PartnerSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such partner")
@blp.alt_response(409, schema=ErrorSchema, description="A partner with this name exists")
def update_partner(changes: dict[str, Any], partner_id: int):
    """Rename a partner, or deactivate it (its requests are then refused)."""
    return partners.update_partner(current_principal().user_id, partner_id, changes)


@blp.route("/<int:partner_id>/secret", methods=["POST"])
@auth_required(admin=True)
@blp.response(201, PartnerWithSecretSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such partner")
def rotate_secret(partner_id: int):
    """Give a partner a new signing secret, shown this once; the old one stops working."""
    return partners.rotate_secret(current_principal().user_id, partner_id, current_app.config["SECRET_KEY"])
