"""Schemas of the admin dashboard."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.fields import Day, Integer, UtcDateTime
from services.reporting.dashboard import MAX_BUCKETS, PERIODS


class DashboardQuerySchema(ma.Schema):
    period = ma.fields.String(load_default="day", validate=validate.OneOf(PERIODS))
    buckets = Integer(
        validate=validate.Range(min=1, max=MAX_BUCKETS),
        metadata={"description": "How many days, weeks or months (default 30, 12, 12)"},
    )
    until = Day(metadata={"description": "A day of the last bucket (default: today, Beijing time)"})


class DashboardFiguresSchema(ma.Schema):
    sold_g = Integer(metadata={"description": "Grams of orders fulfilled"})
    refunded_g = Integer(metadata={"description": "Grams of refunds that succeeded"})
    net_sold_g = Integer()
    retired_g = Integer(metadata={"description": "Grams of retirements confirmed"})
    new_users = Integer()
    orders_created = Integer()
    orders_paid = Integer()
    orders_by_state = ma.fields.Dict(
        keys=ma.fields.String(),
        values=Integer(),
        metadata={"description": "Orders placed, by their state now"},
    )
    points_awarded = Integer()
    points_spent = Integer()
    points_reversed = Integer()
    sales_fen = Integer(metadata={"description": "Fen of orders paid"})
    refunded_fen = Integer(metadata={"description": "Fen of refunds that succeeded"})
    net_fen = Integer()


class BucketSchema(DashboardFiguresSchema):
    start = Day(metadata={"description": "First day of the bucket (Beijing time)"})
    starts_at = UtcDateTime()
    ends_at = UtcDateTime()


class PoolNowSchema(ma.Schema):
    users = Integer()
    issued_g = Integer()
    available_g = Integer()
    reserved_g = Integer()
    sold_g = Integer()
    retired_g = Integer()


class DashboardSchema(ma.Schema):
    period = ma.fields.String()
    timezone = ma.fields.String()
    starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    buckets = ma.fields.List(ma.fields.Nested(BucketSchema))
    totals = ma.fields.Nested(DashboardFiguresSchema, metadata={"description": "Sums over the buckets"})
    now = ma.fields.Nested(PoolNowSchema, metadata={"description": "The pool and users as they are now"})
