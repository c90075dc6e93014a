"""Schemas of registry retirement: retirable tonnes, retirements, their tonnes and beneficiaries."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.fields import Day, Integer, UtcDateTime
from services.registry.retirement import MAX_TONNES_PER_RETIREMENT

STATUSES = ["draft", "submitted", "confirmed", "cancelled"]


class RetirableQuerySchema(ma.Schema):
    kind_code = ma.fields.String(
        data_key="kind",
        validate=validate.Length(max=32),
        metadata={"description": "Credit kind code, e.g. FFCER"},
    )
    project_id = Integer()
    batch_id = Integer()


class TonneSchema(ma.Schema):
    serial = ma.fields.String(metadata={"description": "Registry serial of the tonne"})
    batch_id = Integer()
    tonne_index = Integer(metadata={"description": "0-based tonne of the batch"})
    kind = ma.fields.String()
    project_code = ma.fields.String()
    project_name = ma.fields.String()
    vintage = Integer()
    batch_registry_ref = ma.fields.String(
        metadata={"description": "The registry's reference of the issuance"}
    )


class RetirementCreateSchema(ma.Schema):
    kind_code = ma.fields.String(
        data_key="kind",
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "Credit kind (one registry) whose tonnes to retire"},
    )
    project_id = Integer(metadata={"description": "Only tonnes of this project"})
    batch_ids = ma.fields.List(
        Integer(),
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "Only tonnes of these batches"},
    )
    max_tonnes = Integer(
        validate=validate.Range(min=1, max=MAX_TONNES_PER_RETIREMENT),
        metadata={"description": "At most this many tonnes, oldest first (default: all, up to the maximum)"},
    )
    note = ma.fields.String(load_default="", validate=validate.Length(max=2000))


class RetirementQuerySchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    kind = ma.fields.String(validate=validate.Length(max=32))


class SerialRunSchema(ma.Schema):
    first = ma.fields.String()
    last = ma.fields.String()
    tonnes = Integer()


class RetirementBatchSchema(ma.Schema):
    batch_id = Integer()
    project_code = ma.fields.String()
    vintage = Integer()
    tonnes = Integer()
    serials = ma.fields.List(
        ma.fields.Nested(SerialRunSchema), metadata={"description": "Consecutive serials"}
    )


class RetirementSchema(ma.Schema):
    id = Integer()
    status = ma.fields.String(metadata={"description": "draft, submitted, confirmed or cancelled"})
    kind = ma.fields.String()
    tonnes = Integer()
    grams = Integer()
    note = ma.fields.String()
    created_by = Integer(allow_none=True)
    created_at = UtcDateTime()
    submission_ref = ma.fields.String(metadata={"description": "The registry's number of the application"})
    submitted_at = UtcDateTime(allow_none=True)
    registry_ref = ma.fields.String(metadata={"description": "The registry's reference of the retirement"})
    registry_url = ma.fields.String()
    retired_on = Day(allow_none=True)
    confirmed_at = UtcDateTime(allow_none=True)
    cancelled_at = UtcDateTime(allow_none=True)
    cancel_reason = ma.fields.String()
    batches = ma.fields.List(ma.fields.Nested(RetirementBatchSchema))


class SubmitSchema(ma.Schema):
    submission_ref = ma.fields.String(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"description": "The registry's number of the application, if it gives one"},
    )
    note = ma.fields.String(validate=validate.Length(max=2000))


class ConfirmSchema(ma.Schema):
    registry_ref = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "The registry's reference of the retirement (注销证明编号)"},
    )
    registry_url = ma.fields.URL(
        load_default="",
        schemes={"http", "https"},
        validate=validate.Length(max=512),
        metadata={"description": "Where the registry publishes the retirement"},
    )
    retired_on = Day(required=True, metadata={"description": "Date of the retirement at the registry"})


class CancelSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=255))


class BeneficiarySchema(ma.Schema):
    serial = ma.fields.String()
    batch_id = Integer()
    tonne_index = Integer()
    out_trade_no = ma.fields.String(allow_none=True, metadata={"description": "The order holding the grams"})
    certificate_number = ma.fields.String(allow_none=True, metadata={"description": "Its valid certificate"})
    grams = Integer(metadata={"description": "Grams of this tonne the order holds"})
