"""Schemas of what a bank partner may read about a user."""

import marshmallow as ma
from marshmallow import validate

from api.fields import Integer
from api.tiers.schemas import TierStatusSchema
from models import ConsentScope

# The longest openid or unionid a user can have (the `users.openid` and `users.unionid` columns).
MAX_IDENTIFIER = 64


class CarbonReadSchema(ma.Schema):
    """What a partner asks for; the user is named in the body, never in the path, so no log holds the id."""

    user = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_IDENTIFIER),
        metadata={"description": "The user's WeChat openid or unionid"},
    )
    scopes = ma.fields.List(
        ma.fields.Enum(ConsentScope, by_value=True),
        validate=validate.Length(min=1, max=len(ConsentScope)),
        metadata={"description": "Scopes wanted; leave out for every scope the user granted"},
    )


class SettledPointsSchema(ma.Schema):
    balance = Integer(required=True, metadata={"description": "Spendable points (refund windows closed)"})
    lifetime_earned = Integer(
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
