"""Schemas of low-carbon actions, WeRun uploads, trips and the user's reductions."""

from decimal import Decimal

import marshmallow as ma
from marshmallow import validate

from api.fields import Day, Integer, UtcDateTime
from models import ActionKind, ActionStatus
from services.actions import methodology

MAX_ENCRYPTED_DATA = 16_384
MAX_TRIP_KM = Decimal(1000)


class WeRunUploadSchema(ma.Schema):
    # The mini-program's own field names.
    encryptedData = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_ENCRYPTED_DATA),
        metadata={"description": "`encryptedData` of `wx.getWeRunData`, as given"},
    )
    iv = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "`iv` of `wx.getWeRunData`, as given"},
    )


class WeRunDaySchema(ma.Schema):
    date = Day(required=True, metadata={"description": "Beijing date"})
    steps = Integer(required=True)
    outcome = ma.fields.String(
        required=True,
        metadata={
            "description": "`credited` (new day), `raised`, `flagged` (held for review), `unchanged`, `rejected`"
        },
    )
    action_id = Integer(allow_none=True)
    reduction_g = Integer(required=True, metadata={"description": "Grams credited for the day so far"})
    points = Integer(required=True, metadata={"description": "Points awarded for the day so far"})
    status = ma.fields.String(allow_none=True)


class WeRunResultSchema(ma.Schema):
    days_received = Integer(required=True)
    credited_g = Integer(required=True, metadata={"description": "Grams newly credited by this upload"})
    points = Integer(required=True, metadata={"description": "Points newly awarded by this upload"})
    flagged_days = Integer(required=True)
    days = ma.fields.List(ma.fields.Nested(WeRunDaySchema), required=True)


class TripCreateSchema(ma.Schema):
    mode = ma.fields.String(
        required=True, validate=validate.OneOf(["bus", "metro"]), metadata={"description": "`bus` or `metro`"}
    )
    km = ma.fields.Decimal(
        required=True,
        places=3,
        as_string=True,
        validate=validate.Range(min=Decimal("0.001"), max=MAX_TRIP_KM),
        # Stated as plain numbers: OpenAPI wants numeric bounds, the validator works in Decimal.
        metadata={
            "description": "Distance travelled in km (up to 3 decimals)",
            "minimum": 0.001,
            "maximum": float(MAX_TRIP_KM),
        },
    )
    trip_ref = ma.fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "The operator's id of the trip; a trip id is credited once"},
    )
    date = Day(metadata={"description": "Beijing date of the trip; default today"})


class ActionSchema(ma.Schema):
    id = Integer(required=True)
    kind = ma.fields.Enum(ActionKind, by_value=True, required=True)
    date = Day(required=True, metadata={"description": "Beijing date"})
    quantity = Integer(required=True, metadata={"description": "Steps (walking) or metres (trips)"})
    unit = ma.fields.Method("_unit", metadata={"description": "`steps` or `m`"})
    full_reduction_g = ma.fields.Method(
        "_full", metadata={"description": "Grams the methodology gives for the quantity, before daily caps"}
    )
    reduction_g = Integer(required=True, metadata={"description": "Grams credited (after caps)"})
    points = Integer(required=True, metadata={"description": "Points awarded"})
    status = ma.fields.Enum(ActionStatus, by_value=True, required=True)
    methodology = ma.fields.String(required=True)
    trip_ref = ma.fields.String(allow_none=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)

    def _unit(self, action) -> str:
        return "steps" if action.kind == ActionKind.STEPS else "m"

    def _full(self, action) -> int:
        return methodology.reduction_for(action.kind, action.quantity)


class ActionQuerySchema(ma.Schema):
    kind = ma.fields.String(validate=validate.OneOf([k.value for k in ActionKind]))
    status = ma.fields.String(validate=validate.OneOf([s.value for s in ActionStatus]))
    since = Day(metadata={"description": "From this Beijing date, inclusive"})
    until = Day(metadata={"description": "Up to this Beijing date, inclusive"})


class ReductionsQuerySchema(ma.Schema):
    days = Integer(load_default=30, validate=validate.Range(min=1, max=366))
    weeks = Integer(load_default=12, validate=validate.Range(min=1, max=104))


class DayTotalSchema(ma.Schema):
    date = Day(required=True)
    reduction_g = Integer(required=True)
    points = Integer(required=True)


class WeekTotalSchema(ma.Schema):
    week = ma.fields.String(required=True, metadata={"description": "ISO week, e.g. `2026-W47`"})
    week_start = Day(required=True, metadata={"description": "Its Monday"})
    reduction_g = Integer(required=True)


class ReductionsSchema(ma.Schema):
    all_time_g = Integer(required=True)
    all_time_points = Integer(required=True)
    today_g = Integer(required=True)
    this_week_g = Integer(required=True)
    by_kind = ma.fields.Dict(keys=ma.fields.String(), values=Integer(), required=True)
    days = ma.fields.List(
        ma.fields.Nested(DayTotalSchema), required=True, metadata={"description": "Oldest first"}
    )
    weeks = ma.fields.List(
        ma.fields.Nested(WeekTotalSchema), required=True, metadata={"description": "Oldest first"}
    )
