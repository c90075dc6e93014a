"""Schemas of green tiers."""

import marshmallow as ma

from api.fields import Integer


class TierSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "light_green, mid_green or deep_green"})
    name = ma.fields.String(required=True, metadata={"description": "浅绿, 中绿 or 深绿"})
    min_points = Integer(required=True, metadata={"description": "Lifetime points that reach it"})


class TierStatusSchema(ma.Schema):
    tier = ma.fields.Nested(TierSchema, allow_none=True, metadata={"description": "Null: no tier yet"})
    lifetime_earned = Integer(
        required=True,
        metadata={"description": "Settled points ever earned (refund window closed), less refunded ones"},
    )
    next_tier = ma.fields.Nested(
        TierSchema, allow_none=True, metadata={"description": "Null at the top tier"}
    )
    points_to_next = Integer(allow_none=True)


class MyTierSchema(TierStatusSchema):
    pending = Integer(
        required=True,
        metadata={
            "description": "Points of purchases still in their refund window; they count once it closes"
        },
    )
