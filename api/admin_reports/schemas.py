"""Schemas of the sales reports: filters, grouping and the rows."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate
from webargs.fields import DelimitedList

from api.fields import Day, Integer
from models import Channel
from services.reporting.sales_reports import DIMENSIONS, PRODUCTS


class ReportFilterSchema(ma.Schema):
    since = Day(metadata={"description": "First day of payment, Beijing time, inclusive"})
    until = Day(metadata={"description": "Last day of payment, Beijing time, inclusive"})
    kind = ma.fields.String(validate=validate.Length(max=32), metadata={"description": "Credit kind code"})
    project_id = Integer(validate=validate.Range(min=1))
    owner_id = Integer(validate=validate.Range(min=1))
    channel = ma.fields.String(validate=validate.OneOf([c.value for c in Channel]))
    product = ma.fields.String(validate=validate.OneOf(PRODUCTS))

    @ma.validates_schema
    def _range_is_ordered(self, data, **_kwargs):
        if "since" in data and "until" in data and data["since"] > data["until"]:
            raise ma.ValidationError("`until` must not be before `since`.", field_name="until")


class ReportQuerySchema(ReportFilterSchema):
    group_by = DelimitedList(
        ma.fields.String(validate=validate.OneOf(DIMENSIONS)),
        load_default=lambda: ["day"],
        validate=validate.Length(max=len(DIMENSIONS)),
        metadata={
            "description": "Comma-separated dimensions: day, week or month (one at most), product, "
            "kind, project, owner, channel"
        },
    )


class ExportQuerySchema(ReportQuerySchema):
    format = ma.fields.String(required=True, validate=validate.OneOf(["csv", "xlsx"]))


class ReportRowSchema(ma.Schema):
    period = ma.fields.String(
        allow_none=True, metadata={"description": "YYYY-MM-DD (day; week: its Monday) or YYYY-MM"}
    )
    product = ma.fields.String(allow_none=True)
    kind = ma.fields.String(allow_none=True)
    project_id = Integer(allow_none=True)
    project_code = ma.fields.String(allow_none=True)
    project_name = ma.fields.String(allow_none=True)
    owner_id = Integer(allow_none=True)
    owner_name = ma.fields.String(allow_none=True)
    channel = ma.fields.String(allow_none=True)
    orders = Integer(metadata={"description": "Paid orders with a line in the group"})
    grams = Integer(metadata={"description": "Grams sold (gross)"})
    refunded_g = Integer()
    net_g = Integer()
    gross_fen = Integer()
    refunded_fen = Integer()
    net_fen = Integer()
