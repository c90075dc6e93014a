"""Organisations: admins create and list them; admins and owners invite and remove organisers, who accept."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask.views import MethodView

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.organisations.schemas import (
    InvitationCodeSchema,
    InvitationSchema,
    InviteSchema,
    IssuedInvitationSchema,
    MemberSchema,
    MyInvitationSchema,
    OrganisationSchema,
    OrganisationUpdateSchema,
)
from services.accounts import organisation_invitations, organisations

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


@blp.route("/organisations/<int:organisation_id>/invitations")
class Invitations(MethodView):
    @auth_required()
    @blp.response(200, InvitationSchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="Only an admin or the owner sees invitations")
    @blp.alt_response(404, schema=ErrorSchema, description="No such organisation")
    @blp.paginate()
    def get(self, organisation_id, pagination_parameters):
        """List the organisation's invitations, newest first (admin or owner)."""
        items, total = organisation_invitations.list_invitations(
            current_principal(), organisation_id, pagination_parameters.page, pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return items

    @auth_required()
    @blp.arguments(InviteSchema())
    @blp.response(201, IssuedInvitationSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="Only an admin or the owner can invite")
    @blp.alt_response(404, schema=ErrorSchema, description="No such organisation")
    @blp.alt_response(
        409, schema=ErrorSchema, description="The user is a member already or has an open invitation"
    )
    def post(self, body, organisation_id):
        """Invite a user, or whoever holds the code, to become an organiser (admin or owner)."""
        ttl = timedelta(hours=current_app.config["ORGANISATION_INVITATION_TTL_H"])
        return organisation_invitations.invite(current_principal(), organisation_id, body["user_id"], ttl)


@blp.route("/organisations/<int:organisation_id>/invitations/<int:invitation_id>")
class Invitation(MethodView):
    @auth_required()
    @blp.response(204)
    @blp.alt_response(403, schema=ErrorSchema, description="Only an admin or the owner can revoke")
    @blp.alt_response(404, schema=ErrorSchema, description="No such organisation or invitation")
    @blp.alt_response(409, schema=ErrorSchema, description="The invitation was answered or has expired")
    def delete(self, organisation_id, invitation_id):
        """Withdraw an open invitation (admin or owner)."""
        organisation_invitations.revoke(current_principal(), organisation_id, invitation_id)


@blp.route("/me/invitations", methods=["GET"])
@auth_required()
@blp.response(200, MyInvitationSchema(many=True))
def my_invitations():
    """List the open invitations addressed to me, newest first."""
    return organisation_invitations.my_invitations(current_principal())


@blp.route("/me/invitations/<int:invitation_id>/accept", methods=["POST"])
@auth_required()
@blp.response(200, MyInvitationSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such invitation addressed to me")
@blp.alt_response(409, schema=ErrorSchema, description="Answered, revoked or expired, or a member already")
def accept(invitation_id):
    """Accept an invitation addressed to me: I become an organiser of the organisation."""
    return organisation_invitations.respond(current_principal(), invitation_id, accept=True)


@blp.route("/me/invitations/<int:invitation_id>/decline", methods=["POST"])
@auth_required()
@blp.response(200, MyInvitationSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such invitation addressed to me")
@blp.alt_response(409, schema=ErrorSchema, description="Answered, revoked or expired")
def decline(invitation_id):
    """Decline an invitation addressed to me."""
    return organisation_invitations.respond(current_principal(), invitation_id, accept=False)


@blp.route("/me/invitations/redeem", methods=["POST"])
@auth_required()
@blp.arguments(InvitationCodeSchema())
@blp.response(200, MyInvitationSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No invitation has this code (for me)")
@blp.alt_response(409, schema=ErrorSchema, description="Answered, revoked or expired, or a member already")
def redeem(body):
    """Accept the invitation whose code I was given."""
    return organisation_invitations.redeem(current_principal(), body["code"])
