"""An organisation's carbon points: what its own purchases earned, for its members to read."""

from __future__ import annotations

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.context import tier_policy
from api.errors import ErrorSchema
from api.organisation_points.schemas import OrganisationPointsEntrySchema, OrganisationPointsSchema
from services.points import organisation_points

blp = Blueprint(
    "organisation_points",
    __name__,
    url_prefix="/api/v1",
    description="Carbon points of organisations (their purchases earn them, not the member who paid)",
)


@blp.route("/organisations/<int:organisation_id>/points")
@auth_required()
@blp.response(200, OrganisationPointsSchema)
@blp.alt_response(403, schema=ErrorSchema, description="You are not a member of this organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such organisation")
def organisation_points_summary(organisation_id: int):
    """The organisation's settled and pending points and its green tier (members, read-only)."""
    return organisation_points.summary(current_principal(), organisation_id, tier_policy())


@blp.route("/organisations/<int:organisation_id>/points/history")
@auth_required()
@blp.response(200, OrganisationPointsEntrySchema(many=True))
@blp.alt_response(403, schema=ErrorSchema, description="You are not a member of this organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such organisation")
@blp.paginate()
def organisation_points_history(organisation_id: int, pagination_parameters):
    """The organisation's points entries, newest first (members, read-only)."""
    entries, total = organisation_points.history(
        current_principal(),
        organisation_id,
        pagination_parameters.page,
        pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    return entries
