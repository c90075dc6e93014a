"""Schemas of organisations and their members."""

import marshmallow as ma

from api.fields import UtcDateTime
from models import OrganisationKind
from services.organisations import NAME_MAX_LENGTH


class OrganisationSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=NAME_MAX_LENGTH))
    kind = ma.fields.Enum(OrganisationKind, by_value=True, required=True)
    owner_id = ma.fields.Integer(
        allow_none=True,
        strict=True,
        validate=ma.validate.Range(min=1),
        metadata={"description": "A user who may manage the members; becomes a member"},
    )
    created_at = UtcDateTime(dump_only=True)


class OrganisationUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=NAME_MAX_LENGTH))
    kind = ma.fields.Enum(OrganisationKind, by_value=True)
    owner_id = ma.fields.Integer(allow_none=True, strict=True, validate=ma.validate.Range(min=1))


class MemberSchema(ma.Schema):
    user_id = ma.fields.Integer(required=True)
    display_name = ma.fields.String(dump_only=True)
    is_owner = ma.fields.Boolean(dump_only=True)
    joined_at = UtcDateTime(dump_only=True)


class AddMemberSchema(ma.Schema):
    user_id = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1))
