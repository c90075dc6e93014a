"""Schemas of organisations and their members."""

import marshmallow as ma

from api.fields import Integer, UtcDateTime
from models import InvitationStatus, OrganisationKind
from services.accounts.organisation_invitations import EXPIRED, status_of
from services.accounts.organisations import NAME_MAX_LENGTH


class OrganisationSchema(ma.Schema):
    id = Integer(dump_only=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=NAME_MAX_LENGTH))
    kind = ma.fields.Enum(OrganisationKind, by_value=True, required=True)
    owner_id = Integer(
        allow_none=True,
        strict=True,
        validate=ma.validate.Range(min=1),
        metadata={"description": "A user who may manage the members; becomes a member"},
    )
    created_at = UtcDateTime(dump_only=True)


class OrganisationUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=NAME_MAX_LENGTH))
    kind = ma.fields.Enum(OrganisationKind, by_value=True)
    owner_id = Integer(allow_none=True, strict=True, validate=ma.validate.Range(min=1))


class MemberSchema(ma.Schema):
    user_id = Integer(required=True)
    display_name = ma.fields.String(dump_only=True)
    is_owner = ma.fields.Boolean(dump_only=True)
    joined_at = UtcDateTime(dump_only=True)
    phone = ma.fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "The organiser's bound phone number, masked (138****1234); null: none"},
    )


class InviteSchema(ma.Schema):
    user_id = Integer(
        allow_none=True,
        load_default=None,
        strict=True,
        validate=ma.validate.Range(min=1, max=2**63 - 1),
        metadata={
            "description": "The one user who may accept (they find it among their invitations); "
            "omit it for an invitation anyone holding the code may accept"
        },
    )


class InvitationSchema(ma.Schema):
    id = Integer()
    invitee_id = Integer(
        allow_none=True, metadata={"description": "The user id invited, as given; null for an open one"}
    )
    status = ma.fields.Function(status_of, metadata={"enum": [*(s.value for s in InvitationStatus), EXPIRED]})
    expires_at = UtcDateTime()
    created_at = UtcDateTime()
    responded_at = UtcDateTime(allow_none=True)


class IssuedInvitationSchema(ma.Schema):
    invitation = ma.fields.Nested(InvitationSchema)
    code = ma.fields.String(
        metadata={"description": "Give it to the invitee, who redeems it; shown only this once"}
    )


class InvitingOrganisationSchema(ma.Schema):
    id = Integer()
    name = ma.fields.String()
    kind = ma.fields.String()


class MyInvitationSchema(ma.Schema):
    id = Integer()
    organisation = ma.fields.Nested(InvitingOrganisationSchema)
    status = ma.fields.String(metadata={"enum": [*(s.value for s in InvitationStatus), EXPIRED]})
    expires_at = UtcDateTime()
    invited_at = UtcDateTime()
    responded_at = UtcDateTime(allow_none=True)


class InvitationCodeSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
