"""Organisations: admins create and list them; admins and owners manage their organisers."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import auth_required, current_principal
from api.errors import ErrorSchema
from api.organisations.schemas import (
    AddMemberSchema,
    MemberSchema,
    OrganisationSchema,
    OrganisationUpdateSchema,
)
from services import organisations

blp = Blueprint(
    "organisations", __name__, url_prefix="/api/v1", description="Organisations and their organisers"
)


@blp.route("/admin/organisations")
class Organisations(MethodView):
    @auth_required(admin=True)
    @blp.response(200, OrganisationSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """List every organisation (admin)."""
        items, total = organisations.list_organisations(
            current_principal(), pagination_parameters.page, pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return items

    @auth_required(admin=True)
    @blp.arguments(OrganisationSchema())
    @blp.response(201, OrganisationSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="An organisation has this name already")
    @blp.alt_response(422, schema=ErrorSchema, description="A field is invalid or the owner does not exist")
    def post(self, body):
        """Create an organisation; its owner becomes its first organiser (admin)."""
        return organisations.create_organisation(
            current_principal(), body["name"], body["kind"], body.get("owner_id")
        )


@blp.route("/admin/organisations/<int:organisation_id>")
class OrganisationById(MethodView):
    @auth_required(admin=True)
    @blp.arguments(OrganisationUpdateSchema())
    @blp.response(200, OrganisationSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such organisation")
    @blp.alt_response(409, schema=ErrorSchema, description="An organisation has this name already")
    @blp.alt_response(422, schema=ErrorSchema, description="A field is invalid or the owner does not exist")
    def patch(self, changes, organisation_id):
        """Rename an organisation or change its kind or owner (admin)."""
        return organisations.update_organisation(current_principal(), organisation_id, changes)


@blp.route("/organisations/<int:organisation_id>/members")
class Members(MethodView):
    @auth_required()
    @blp.response(200, MemberSchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="You are not a member of this organisation")
    @blp.alt_response(404, schema=ErrorSchema, description="No such organisation")
    @blp.paginate()
    def get(self, organisation_id, pagination_parameters):
        """List the organisers of an organisation (its members and admins)."""
        items, total = organisations.list_members(
            current_principal(), organisation_id, pagination_parameters.page, pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return items

    @auth_required()
    @blp.arguments(AddMemberSchema())
    @blp.response(201, MemberSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="Only an admin or the owner can add members")
    @blp.alt_response(404, schema=ErrorSchema, description="No such organisation")
    @blp.alt_response(409, schema=ErrorSchema, description="The user is a member already")
    @blp.alt_response(422, schema=ErrorSchema, description="No such user")
    def post(self, body, organisation_id):
        """Make a user an organiser of the organisation (admin or owner)."""
        return organisations.add_member(current_principal(), organisation_id, body["user_id"])


@blp.route("/organisations/<int:organisation_id>/members/<int:user_id>")
class Member(MethodView):
    @auth_required()
    @blp.response(204)
    @blp.alt_response(403, schema=ErrorSchema, description="Only an admin or the owner can remove members")
    @blp.alt_response(404, schema=ErrorSchema, description="No such organisation or member")
    @blp.alt_response(409, schema=ErrorSchema, description="The owner cannot be removed")
    def delete(self, organisation_id, user_id):
        """Take a user's organiser role for the organisation away (admin or owner)."""
        organisations.remove_member(current_principal(), organisation_id, user_id)
