"""Schemas of carbon points."""

import marshmallow as ma

from api.fields import Integer
from models import PointsKind, PointsSource, PointsStatus

MAX_ADJUSTMENT = 10_000_000


class PointsSummarySchema(ma.Schema):
    balance = Integer(required=True, metadata={"description": "Points that can be spent now"})
    pending = Integer(
        required=True, metadata={"description": "Points of purchases still in their refund window"}
    )
    lifetime_earned = Integer(
        required=True, metadata={"description": "Points ever earned, less those of refunded purchases"}
    )


class PointsEntrySchema(ma.Schema):
    id = Integer(required=True)
    kind = ma.fields.Enum(PointsKind, by_value=True, required=True)
    points = Integer(
        required=True, metadata={"description": "Change of the user's points: positive earns, negative uses"}
    )
    reason = ma.fields.String(required=True)
    source_type = ma.fields.Enum(PointsSource, by_value=True, required=True)
    source_id = ma.fields.String(required=True)
    status = ma.fields.Enum(
        PointsStatus,
        by_value=True,
        allow_none=True,
        metadata={"description": "Of points received: `pending` until available, then `available`"},
    )
    available_at = ma.fields.DateTime(allow_none=True)
    expires_at = ma.fields.DateTime(allow_none=True)
    remaining = Integer(
        allow_none=True, metadata={"description": "Of points received: what is still unspent and unexpired"}
    )
    created_at = ma.fields.DateTime(required=True)


def _not_zero(value: int) -> None:
    if value == 0:
        raise ma.ValidationError("Must not be 0.")


class PointsAdjustmentSchema(ma.Schema):
    user_id = Integer(required=True, strict=True, validate=ma.validate.Range(min=1))
    points = Integer(
        required=True,
        strict=True,
        validate=[ma.validate.Range(min=-MAX_ADJUSTMENT, max=MAX_ADJUSTMENT), _not_zero],
        metadata={"description": "Points to add (positive) or take away (negative)"},
    )
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    reference = ma.fields.String(
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "Your id of this adjustment; sending it again changes nothing"},
    )
