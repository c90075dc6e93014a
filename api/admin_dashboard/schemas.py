"""Schemas of the admin dashboard."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.fields import UtcDateTime
from services.dashboard import MAX_BUCKETS, PERIODS


class DashboardQuerySchema(ma.Schema):
    period = ma.fields.String(load_default="day", validate=validate.OneOf(PERIODS))
    buckets = ma.fields.Integer(
        validate=validate.Range(min=1, max=MAX_BUCKETS),
        metadata={"description": "How many days, weeks or months (default 30, 12, 12)"},
    )
    until = ma.fields.Date(
        metadata={"description": "A day of the last bucket (default: today, Beijing time)"}
    )


class DashboardFiguresSchema(ma.Schema):
    sold_g = ma.fields.Integer(metadata={"description": "Grams of orders fulfilled"})
    refunded_g = ma.fields.Integer(metadata={"description": "Grams of refunds that succeeded"})
    net_sold_g = ma.fields.Integer()
    retired_g = ma.fields.Integer(metadata={"description": "Grams of retirements confirmed"})
    new_users = ma.fields.Integer()
    orders_created = ma.fields.Integer()
    orders_paid = ma.fields.Integer()
    orders_by_state = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={"description": "Orders placed, by their state now"},
    )
    points_awarded = ma.fields.Integer()
    points_spent = ma.fields.Integer()
    points_reversed = ma.fields.Integer()
    sales_fen = ma.fields.Integer(metadata={"description": "Fen of orders paid"})
    refunded_fen = ma.fields.Integer(metadata={"description": "Fen of refunds that succeeded"})
    net_fen = ma.fields.Integer()


class BucketSchema(DashboardFiguresSchema):
    start = ma.fields.Date(metadata={"description": "First day of the bucket (Beijing time)"})
    starts_at = UtcDateTime()
    ends_at = UtcDateTime()


class PoolNowSchema(ma.Schema):
    users = ma.fields.Integer()
    issued_g = ma.fields.Integer()
    available_g = ma.fields.Integer()
    reserved_g = ma.fields.Integer()
    sold_g = ma.fields.Integer()
    retired_g = ma.fields.Integer()


class DashboardSchema(ma.Schema):
    period = ma.fields.String()
    timezone = ma.fields.String()
    starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    buckets = ma.fields.List(ma.fields.Nested(BucketSchema))
    totals = ma.fields.Nested(DashboardFiguresSchema, metadata={"description": "Sums over the buckets"})
    now = ma.fields.Nested(PoolNowSchema, metadata={"description": "The pool and users as they are now"})
