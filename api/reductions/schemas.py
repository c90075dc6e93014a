"""Schemas of reduction batches: building, the issuance flow, batch and contributor rows, the statement."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from api.fields import Day, Integer, PlainText, UtcDateTime, https_url
from models import GRAMS_PER_TONNE, ReductionBatchStatus
from services.reductions import batch_building

MAX_ISSUED_G = 10_000_000 * GRAMS_PER_TONNE
MAX_PRICE_FEN_PER_T = 100_000_000
MAX_SERIAL_START = 10**17


def month_field(**kwargs: Any) -> ma.fields.String:
    """A Beijing month written `YYYY-MM` (the service reads it as its first day)."""
    return ma.fields.String(
        validate=[
            validate.Length(min=7, max=7),
            validate.Regexp(r"^[0-9]{4}-(0[1-9]|1[0-2])$", error="must be YYYY-MM"),
        ],
        metadata={"example": "2026-11", **kwargs.pop("metadata", {})},
        **kwargs,
    )


METHODOLOGY = [validate.Length(min=1, max=batch_building.METHODOLOGY_MAX), PlainText()]
STATUSES = [status.value for status in ReductionBatchStatus]


class ReductionBuildSchema(ma.Schema):
    month = month_field(required=True, metadata={"description": "The Beijing month whose actions to batch"})
    methodology = ma.fields.String(
        validate=METHODOLOGY,
        metadata={"description": "Only this methodology (default: one batch per methodology)"},
    )
    note = ma.fields.String(
        load_default="", validate=[validate.Length(max=batch_building.NOTE_MAX), PlainText(lines=True)]
    )


class ReductionMonthQuerySchema(ma.Schema):
    month = month_field(required=True)


class ReductionBatchQuerySchema(ma.Schema):
    status = ma.fields.Enum(ReductionBatchStatus, by_value=True)
    month = month_field()
    methodology = ma.fields.String(validate=METHODOLOGY)


class ReductionSubmitSchema(ma.Schema):
    application_ref = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "The registry's number of the application for issuance"},
    )


class ReductionRejectSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=255))


class ReductionIssueSchema(ma.Schema):
    issued_g = Integer(
        required=True,
        validate=validate.Range(min=GRAMS_PER_TONNE, max=MAX_ISSUED_G),
        metadata={
            "description": "What the registry issued, in grams: whole tonnes, at most the batch's grams"
        },
    )
    registry_ref = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    registry_url = ma.fields.String(load_default="", validate=[validate.Length(max=512), https_url])
    registry_name = ma.fields.String(load_default="", validate=validate.Length(max=200))
    serial_prefix = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    serial_start = Integer(
        required=True,
        validate=validate.Range(min=0, max=MAX_SERIAL_START),
        metadata={"description": "The registry serial number of the first tonne"},
    )
    serial_digits = Integer(validate=validate.Range(min=1, max=18), metadata={"description": "Default 7"})
    issued_on = Day(required=True)
    price_fen_per_t = Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_PRICE_FEN_PER_T),
        metadata={"description": "The price per tonne the batch is sold at"},
    )


class ReductionPoolFiguresSchema(ma.Schema):
    batch_id = Integer()
    project_id = Integer()
    project_code = ma.fields.String()
    kind_code = ma.fields.String()
    price_fen_per_t = Integer(allow_none=True)
    first_serial = ma.fields.String()
    last_serial = ma.fields.String()
    issued_g = Integer()
    available_g = Integer()
    reserved_g = Integer()
    sold_g = Integer()
    retired_g = Integer()


class ReductionProceedsSchema(ma.Schema):
    sales = Integer(metadata={"description": "Order lines standing sold"})
    sold_g = Integer()
    amount_fen = Integer(metadata={"description": "Their fen, after refunds"})
    operator_fen = Integer()
    distributable_fen = Integer()
    points = Integer(metadata={"description": "Points shared out to the contributors"})


class ReductionBatchSchema(ma.Schema):
    id = Integer(required=True)
    month = ma.fields.String(required=True, metadata={"description": "YYYY-MM (Beijing)"})
    methodology = ma.fields.String(required=True)
    sequence = Integer(required=True, metadata={"description": "1, then 2, 3 for actions reviewed later"})
    status = ma.fields.String(required=True, validate=validate.OneOf(STATUSES))
    grams = Integer(required=True, metadata={"description": "Grams of the batch's actions"})
    actions = Integer(required=True)
    contributors = Integer(required=True)
    note = ma.fields.String()
    created_by = Integer(allow_none=True)
    created_at = UtcDateTime()
    application_ref = ma.fields.String()
    submitted_at = UtcDateTime(allow_none=True)
    issued_g = Integer(allow_none=True)
    registry_ref = ma.fields.String()
    registry_url = ma.fields.String()
    serial_prefix = ma.fields.String()
    issued_on = Day(allow_none=True)
    issued_at = UtcDateTime(allow_none=True)
    rejected_at = UtcDateTime(allow_none=True)
    reject_reason = ma.fields.String()
    pool = ma.fields.Nested(ReductionPoolFiguresSchema, allow_none=True)
    proceeds = ma.fields.Nested(ReductionProceedsSchema)


class MethodologyMonthSchema(ma.Schema):
    methodology = ma.fields.String()
    eligible_actions = Integer(metadata={"description": "A build would take these now"})
    eligible_g = Integer()
    under_review_actions = Integer(metadata={"description": "Flagged, waiting for an admin"})
    refused_actions = Integer(metadata={"description": "Rejected, or with a rejected claim: never batched"})
    batched_actions = Integer()
    batched_g = Integer()


class ReductionContributorSchema(ma.Schema):
    user_id = Integer(allow_none=True)
    display_name = ma.fields.String(
        metadata={
            "description": "Empty once the account was deleted; a deleted account shares in no later sale"
        }
    )
    actions = Integer()
    grams = Integer()
    sold_g = Integer(metadata={"description": "Their share of the grams sold"})
    points = Integer()


class MyReductionSchema(ma.Schema):
    batch_id = Integer(required=True)
    month = ma.fields.String(required=True)
    methodology = ma.fields.String(required=True)
    sequence = Integer(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(STATUSES))
    my_actions = Integer(required=True)
    my_g = Integer(required=True, metadata={"description": "Grams of my actions in the batch"})
    batch_g = Integer(required=True)
    contributors = Integer(required=True)
    issued_g = Integer(allow_none=True)
    registry_ref = ma.fields.String()
    sold_g = Integer(required=True, metadata={"description": "My share of the grams sold"})
    points = Integer(required=True, metadata={"description": "Points I earned from the sales standing now"})
