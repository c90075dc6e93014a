"""Schemas of what a bank partner may read about a user."""

import marshmallow as ma
from webargs.fields import DelimitedList

from api.tiers.schemas import TierStatusSchema
from models import ConsentScope


class CarbonQuerySchema(ma.Schema):
    scopes = DelimitedList(
        ma.fields.Enum(ConsentScope, by_value=True),
        metadata={"description": "Comma-separated scopes wanted; default: every scope the user granted"},
    )


class SettledPointsSchema(ma.Schema):
    balance = ma.fields.Integer(
        required=True, metadata={"description": "Spendable points (refund windows closed)"}
    )
    lifetime_earned = ma.fields.Integer(
        required=True,
        metadata={"description": "Settled points ever earned, less refunded ones; what the tier follows"},
    )


class CarbonViewSchema(ma.Schema):
    user = ma.fields.String(required=True, metadata={"description": "The openid or unionid asked about"})
    scopes = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "Scopes returned"})
    consent_expires_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "When the latest live consent ends"}
    )
    tier = ma.fields.Nested(
        TierStatusSchema, metadata={"description": "With the `tier` scope; from settled points only"}
    )
    points_summary = ma.fields.Nested(
        SettledPointsSchema,
        metadata={"description": "With `points_summary`; settled points only (no refund window open)"},
    )
