"""Schemas of the rewards catalogue and of redemptions."""

import marshmallow as ma
from marshmallow import validate

from api.fields import Integer
from models import RedemptionState, RewardKind


class RewardItemSchema(ma.Schema):
    id = Integer(required=True)
    kind = ma.fields.Enum(RewardKind, by_value=True, required=True)
    name = ma.fields.String(required=True)
    description = ma.fields.String()
    image_url = ma.fields.String()
    cost_points = Integer(required=True, metadata={"description": "Carbon points per unit"})
    stock = Integer(allow_none=True, metadata={"description": "Units left; null: unlimited"})
    per_user_limit = Integer(
        allow_none=True, metadata={"description": "Most units one person may redeem; null: no limit"}
    )
    valid_from = ma.fields.DateTime(allow_none=True)
    valid_until = ma.fields.DateTime(
        allow_none=True, metadata={"description": "Redeemable before this moment"}
    )
    uses_codes = ma.fields.Boolean(metadata={"description": "Each redemption gets a coupon code"})


class RewardQuerySchema(ma.Schema):
    kind = ma.fields.Enum(RewardKind, by_value=True)


class IdempotencyHeaderSchema(ma.Schema):
    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key",
        required=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "Same key and body: the same redemption; same key, other body: 422"},
    )


class RedeemSchema(ma.Schema):
    note = ma.fields.String(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"description": "For the fulfilment, e.g. delivery details"},
    )


class RewardBriefSchema(ma.Schema):
    id = Integer()
    kind = ma.fields.Enum(RewardKind, by_value=True)
    name = ma.fields.String()
    image_url = ma.fields.String()


class RedemptionSchema(ma.Schema):
    id = Integer(required=True)
    item = ma.fields.Nested(RewardBriefSchema, required=True)
    points = Integer(required=True, metadata={"description": "Points spent"})
    state = ma.fields.Enum(RedemptionState, by_value=True, required=True)
    coupon_code = ma.fields.String(allow_none=True, metadata={"description": "When the reward has codes"})
    note = ma.fields.String()
    created_at = ma.fields.DateTime(required=True)
    issued_at = ma.fields.DateTime(allow_none=True)
    used_at = ma.fields.DateTime(allow_none=True)
    cancelled_at = ma.fields.DateTime(allow_none=True)
