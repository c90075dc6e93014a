"""Schemas of consents to bank partners and of the partners' access log."""

import marshmallow as ma
from marshmallow import validate

from api.fields import Integer, UtcDateTime
from models import AccessOutcome, ConsentScope
from services.rewards.consents import consent_state


class PartnerBriefSchema(ma.Schema):
    id = Integer(required=True)
    name = ma.fields.String(required=True)


class ConsentCreateSchema(ma.Schema):
    partner_id = Integer(required=True, strict=True, validate=validate.Range(min=1))
    scopes = ma.fields.List(
        ma.fields.Enum(ConsentScope, by_value=True),
        required=True,
        validate=validate.Length(min=1, max=len(ConsentScope)),
        metadata={
            "description": "`tier`: my green tier; `points_summary`: my points balance and lifetime total"
        },
    )
    expires_at = UtcDateTime(required=True, metadata={"description": "The consent ends at this moment"})


class ConsentSchema(ma.Schema):
    id = Integer(required=True)
    partner = ma.fields.Nested(PartnerBriefSchema, required=True)
    scopes = ma.fields.List(ma.fields.String(), required=True)
    expires_at = ma.fields.DateTime(required=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    state = ma.fields.Function(consent_state, metadata={"description": "active, expired or revoked"})


class AccessSchema(ma.Schema):
    id = Integer(required=True)
    partner = ma.fields.Nested(PartnerBriefSchema, required=True)
    scopes = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "What was asked for"})
    outcome = ma.fields.Enum(AccessOutcome, by_value=True, required=True)
    at = ma.fields.DateTime(required=True)
