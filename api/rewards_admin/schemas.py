"""Schemas of the admin side of rewards: items, coupon codes, redemptions."""

import marshmallow as ma
from marshmallow import validate

from api.fields import Integer, UtcDateTime, https_url
from api.rewards.schemas import RedemptionSchema, RewardItemSchema
from models import RedemptionState, RewardKind
from services.rewards.rewards_admin import MAX_CODES_PER_CALL

MAX_COST_POINTS = 100_000_000
MAX_STOCK = 100_000_000
CODE = [
    validate.Length(max=64),
    validate.Regexp(r"^[A-Za-z0-9_-]{4,64}$", error="4 to 64 letters, digits, '-' or '_'."),
]


class RewardItemUpdateSchema(ma.Schema):
    kind = ma.fields.Enum(RewardKind, by_value=True)
    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    description = ma.fields.String(validate=validate.Length(max=5_000))
    image_url = ma.fields.String(
        validate=[validate.Length(max=512), https_url],
        metadata={"description": "An absolute https:// URL of the image; empty: none"},
    )
    cost_points = Integer(strict=True, validate=validate.Range(min=1, max=MAX_COST_POINTS))
    stock = Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=0, max=MAX_STOCK),
        metadata={"description": "Units left now; null: unlimited"},
    )
    per_user_limit = Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1),
        metadata={"description": "Null: no limit"},
    )
    valid_from = UtcDateTime(allow_none=True)
    valid_until = UtcDateTime(allow_none=True)
    active = ma.fields.Boolean()
    uses_codes = ma.fields.Boolean(metadata={"description": "Hand each redemption one of the item's codes"})

    @ma.validates_schema
    def _window(self, data, **kwargs):
        start, end = data.get("valid_from"), data.get("valid_until")
        if start is not None and end is not None and end <= start:
            raise ma.ValidationError("Must be after valid_from.", "valid_until")


class RewardItemCreateSchema(RewardItemUpdateSchema):
    kind = ma.fields.Enum(RewardKind, by_value=True, required=True)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    cost_points = Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_COST_POINTS))


class AdminRewardItemSchema(RewardItemSchema):
    active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class AdminRewardQuerySchema(ma.Schema):
    kind = ma.fields.Enum(RewardKind, by_value=True)
    active = ma.fields.Boolean()


class CodesLoadSchema(ma.Schema):
    codes = ma.fields.List(
        ma.fields.String(validate=CODE),
        required=True,
        validate=validate.Length(min=1, max=MAX_CODES_PER_CALL),
        metadata={"description": "Codes from the merchant, each unique in the whole catalogue"},
    )


class CodesGenerateSchema(ma.Schema):
    count = Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_CODES_PER_CALL))
    prefix = ma.fields.String(
        load_default="",
        validate=[
            validate.Length(max=16),
            validate.Regexp(r"^[A-Z0-9-]{0,16}$", error="Up to 16 of A-Z, 0-9 or '-'."),
        ],
    )
    length = Integer(
        load_default=12,
        strict=True,
        validate=validate.Range(min=8, max=32),
        metadata={"description": "Random characters after the prefix"},
    )


class CodeLoadSchema(ma.Schema):
    item_id = Integer(required=True)
    added = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "The codes added"})
    available = Integer(required=True, metadata={"description": "Codes of the item not yet handed out"})
    assigned = Integer(required=True, metadata={"description": "Codes of the item handed out"})


class AdminRedemptionSchema(RedemptionSchema):
    user_id = Integer(required=True)
    idempotency_key = ma.fields.String()
    updated_at = ma.fields.DateTime()


class AdminRedemptionQuerySchema(ma.Schema):
    state = ma.fields.Enum(RedemptionState, by_value=True)
    item_id = Integer(validate=validate.Range(min=1))
    user_id = Integer(validate=validate.Range(min=1))
    kind = ma.fields.Enum(RewardKind, by_value=True)
    since = UtcDateTime(metadata={"description": "Created at or after"})
    until = UtcDateTime(metadata={"description": "Created before"})


class TransitionSchema(ma.Schema):
    note = ma.fields.String(
        load_default="", validate=validate.Length(max=200), metadata={"description": "Kept in the audit log"}
    )
