"""Schemas of reconciliation runs, their discrepancies and resolutions."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import validate

from api.fields import Day, Integer, UtcDateTime
from models import DiscrepancyKind, RunStatus
from services.reconciliation.reconciliation_resolve import ACTIONS


class RunCreateSchema(ma.Schema):
    date = Day(required=True, metadata={"description": "The bill's day (Beijing time), e.g. yesterday"})


class UploadFileSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "A WeChat Pay trade bill (type ALL), CSV"})


class UploadFormSchema(ma.Schema):
    date = Day(metadata={"description": "The bill's day; by default the date of its first row"})


class RunQuerySchema(ma.Schema):
    date = Day(metadata={"description": "Only runs of this bill date"})
    status = ma.fields.String(validate=validate.OneOf([s.value for s in RunStatus]))


class RunSchema(ma.Schema):
    id = Integer()
    bill_date = Day(allow_none=True)
    source = ma.fields.String(metadata={"description": "provider, upload or file"})
    provider = ma.fields.String()
    filename = ma.fields.String()
    status = ma.fields.String(metadata={"description": "running, done or failed"})
    error = ma.fields.String()
    started_by = Integer(allow_none=True)
    created_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)
    bytes_total = Integer(allow_none=True)
    bytes_read = Integer()
    lines_read = Integer()
    trade_rows = Integer()
    refund_rows = Integer()
    matched = Integer(metadata={"description": "Bill rows that agree with this side"})
    discrepancies = Integer()
    totals = ma.fields.Raw(
        allow_none=True,
        metadata={
            "description": "`bill`: the summary row; `rows`: sums of the bill's rows; `here`: the day's "
            "paid orders and accepted refunds here; `by_kind`: discrepancies by kind (fen everywhere)"
        },
    )


class DiscrepancyQuerySchema(ma.Schema):
    kind = ma.fields.String(validate=validate.OneOf([k.value for k in DiscrepancyKind]))
    resolved = ma.fields.Boolean(metadata={"description": "true: only resolved; false: only open"})


class DiscrepancySchema(ma.Schema):
    id = Integer()
    run_id = Integer()
    kind = ma.fields.String()
    line_no = Integer(allow_none=True, metadata={"description": "Line of the bill"})
    out_trade_no = ma.fields.String(allow_none=True)
    transaction_id = ma.fields.String(allow_none=True)
    out_refund_no = ma.fields.String(allow_none=True)
    refund_id = ma.fields.String(allow_none=True, metadata={"description": "WeChat Pay's refund id"})
    order_id = Integer(allow_none=True)
    amount_here_fen = Integer(allow_none=True)
    amount_there_fen = Integer(allow_none=True, metadata={"description": "As WeChat Pay says"})
    status_here = ma.fields.String(allow_none=True)
    status_there = ma.fields.String(allow_none=True)
    detail = ma.fields.String()
    bill_row = ma.fields.Raw(allow_none=True)
    resolution = ma.fields.String(allow_none=True, metadata={"description": "fulfilled, refunded, explained"})
    resolution_note = ma.fields.String()
    resolved_by = Integer(allow_none=True)
    resolved_at = UtcDateTime(allow_none=True)


class ResolveSchema(ma.Schema):
    action = ma.fields.String(required=True, validate=validate.OneOf(ACTIONS))
    note = ma.fields.String(load_default="", validate=validate.Length(max=400))
    grams = Integer(
        validate=validate.Range(min=1),
        metadata={"description": "refund: grams to refund; all that is left by default"},
    )
