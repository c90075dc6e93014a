"""Schemas of events, their emission sources, attendee travel, offsets and the public disclosure."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import validate

from api.fields import Day, DecimalText, Integer, UtcDateTime
from api.orders.schemas import OrderSchema, RequestPaymentSchema
from services.neutralisation import event_factors

PHASES = ["estimate", "actual"]
SOURCE_KINDS = [
    "venue_electricity",
    "venue_heat",
    "venue_fuel",
    "vehicles",
    "travel",
    "accommodation",
    "catering",
    "materials",
    "waste",
]
STAGES = ["plan", "accounted", "offset", "declared"]
PAYMENT_METHODS = ["wechat", "bank_transfer"]
POSITIVE_DECIMAL = validate.Range(min=0, max=10**15)
OFFSET_DEADLINE = (
    "The last day (Beijing time) to order the offset: one year after end_date (Guangdong DB44/T 2639-2025)"
)
OFFSET_AT = "When the offset order was fulfilled and the event reached the offset stage"
FACTOR_SET_VERSION = "The factor-library version the factor came from; null for a custom factor"
PUBLIC_CODE = (
    "The random code of the public disclosure, once published: /events/{code}/disclosure "
    "and /api/v1/public/events/{code} (the id opens neither)"
)


class EventPlanSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    start_date = Day(required=True)
    end_date = Day(required=True)
    venue_city = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "A city of the city table, in English or Chinese (福州 or Fuzhou)"},
    )
    expected_attendees = Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))
    boundary = ma.fields.String(load_default="", validate=validate.Length(max=5000))
    reduction_measures = ma.fields.String(load_default="", validate=validate.Length(max=5000))
    offset_plan = ma.fields.String(load_default="", validate=validate.Length(max=5000))


class EventUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    start_date = Day()
    end_date = Day()
    venue_city = ma.fields.String(validate=validate.Length(min=1, max=64))
    expected_attendees = Integer(validate=validate.Range(min=0, max=10_000_000))
    actual_attendees = Integer(validate=validate.Range(min=0, max=10_000_000))
    boundary = ma.fields.String(validate=validate.Length(max=5000))
    reduction_measures = ma.fields.String(validate=validate.Length(max=5000))
    offset_plan = ma.fields.String(validate=validate.Length(max=5000))
    published = ma.fields.Boolean()


class SourceCreateSchema(ma.Schema):
    phase = ma.fields.String(required=True, validate=validate.OneOf(PHASES))
    kind = ma.fields.String(required=True, validate=validate.OneOf(SOURCE_KINDS))
    description = ma.fields.String(load_default="", validate=validate.Length(max=200))
    activity = ma.fields.Decimal(
        required=True,
        places=4,
        validate=POSITIVE_DECIMAL,
        # Stated as plain numbers: OpenAPI wants numeric bounds, the validator works in Decimal.
        metadata={"description": "Activity data in the factor's unit", "minimum": 0, "maximum": 10**15},
    )
    factor_key = ma.fields.String(
        load_default="custom",
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "A key of GET /api/v1/event-factors (the current factor set), "
            "or `custom` with the three fields below"
        },
    )
    factor_kg_per_unit = ma.fields.Decimal(
        places=8,
        validate=validate.Range(min=0, max=10**9),
        metadata={"description": "kg CO2e per activity unit (custom factor)", "minimum": 0, "maximum": 10**9},
    )
    activity_unit = ma.fields.String(validate=validate.Length(min=1, max=32))
    factor_source = ma.fields.String(
        validate=validate.Length(min=10, max=1000),
        metadata={"description": "The published source of a custom factor (IPCC, DEFRA, a Chinese standard)"},
    )


class SourceSchema(ma.Schema):
    id = Integer()
    phase = ma.fields.Function(lambda s: s.phase.value)
    kind = ma.fields.Function(lambda s: s.kind.value)
    description = ma.fields.String()
    activity = DecimalText()
    activity_unit = ma.fields.String()
    factor_key = ma.fields.String()
    factor_set_version = Integer(allow_none=True, metadata={"description": FACTOR_SET_VERSION})
    factor_kg_per_unit = DecimalText()
    factor_source = ma.fields.String()
    grams = Integer()
    from_attendee_list = ma.fields.Boolean()


class TravelGroupSchema(ma.Schema):
    phase = ma.fields.Function(lambda g: g.phase.value)
    origin_city = ma.fields.String()
    mode = ma.fields.Function(lambda g: g.mode.value)
    return_trip = ma.fields.Boolean()
    attendees = Integer()
    distance_km = DecimalText()
    passenger_km = DecimalText()


class EventSchema(ma.Schema):
    id = Integer()
    organisation_id = Integer()
    name = ma.fields.String()
    start_date = Day()
    end_date = Day()
    venue_city = ma.fields.String()
    expected_attendees = Integer()
    actual_attendees = Integer(allow_none=True)
    stage = ma.fields.Function(lambda e: e.stage.value, metadata={"enum": STAGES})
    published = ma.fields.Boolean()
    boundary = ma.fields.String()
    reduction_measures = ma.fields.String()
    offset_plan = ma.fields.String()
    offset_order_no = ma.fields.String(allow_none=True)
    public_code = ma.fields.String(metadata={"description": PUBLIC_CODE})
    offset_deadline = Day(metadata={"description": OFFSET_DEADLINE})
    offset_at = UtcDateTime(allow_none=True, metadata={"description": OFFSET_AT})
    declared_at = UtcDateTime(allow_none=True)


class EventTotalsSchema(ma.Schema):
    estimate = Integer(metadata={"description": "grams CO2e"})
    actual = Integer(metadata={"description": "grams CO2e"})


class OffsetOrderSchema(ma.Schema):
    out_trade_no = ma.fields.String()
    status = ma.fields.Function(lambda o: o.status.value)
    grams = Integer()
    amount_fen = Integer()
    provider = ma.fields.String()


class EventDetailSchema(ma.Schema):
    event = ma.fields.Nested(EventSchema)
    organisation_name = ma.fields.String()
    sources = ma.fields.List(ma.fields.Nested(SourceSchema))
    travel = ma.fields.List(ma.fields.Nested(TravelGroupSchema))
    totals = ma.fields.Nested(EventTotalsSchema)
    offset_order = ma.fields.Nested(OffsetOrderSchema, allow_none=True)
    name_status = ma.fields.String(
        validate=validate.OneOf(("pass", "pending", "risky")),
        metadata={
            "description": "Whether the public disclosure shows the event's name: `pass`; `pending`: WeChat's "
            "content security check has not passed it yet (the disclosure shows — meanwhile); `risky`: "
            "withheld, rename the event"
        },
    )


class AttendeeUploadQuerySchema(ma.Schema):
    phase = ma.fields.String(load_default="actual", validate=validate.OneOf(PHASES))
    append = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "Add the file's rows to the phase's list instead of replacing it: "
            "send the rejected rows again, fixed, to complete the list"
        },
    )


class AttendeeFileSchema(ma.Schema):
    file = Upload(
        required=True,
        metadata={"description": "CSV with a header: name (optional), origin_city, mode, return (yes/no)"},
    )


class AttendeeRowFaultSchema(ma.Schema):
    row = Integer(allow_none=True, metadata={"description": "1 = the first attendee; null for the file"})
    line = Integer(metadata={"description": "The row's line in the file (the header is line 1)"})
    field = ma.fields.String(allow_none=True, metadata={"description": "origin_city, mode, return or null"})
    message = ma.fields.String()
    value = ma.fields.String(metadata={"description": "The value as written, cut to 100 characters"})
    accepted = ma.fields.List(
        ma.fields.String(), metadata={"description": "A fault of the mode: the modes the factor set accepts"}
    )


class TravelUploadSchema(ma.Schema):
    phase = ma.fields.Function(lambda u: u.phase.value)
    attendees = Integer(metadata={"description": "Attendees in the phase's list now"})
    groups = Integer(metadata={"description": "Travel groups in the phase's list now"})
    grams = Integer(metadata={"description": "The phase's attendee-list travel emissions now, grams CO2e"})
    added = Integer(metadata={"description": "Attendees the file's good rows added"})
    append = ma.fields.Boolean(metadata={"description": "Whether the file was added to the list"})
    rejected_rows = Integer(metadata={"description": "Rows of the file not saved"})
    rejected = ma.fields.List(
        ma.fields.Nested(AttendeeRowFaultSchema),
        metadata={
            "description": "Every fault of the rows not saved, in row order; fix and send them with append"
        },
    )


class EventQuoteOptionSchema(ma.Schema):
    project_id = Integer()
    project_code = ma.fields.String()
    project_name = ma.fields.String()
    kind = ma.fields.String()
    price_fen_per_t = Integer()
    available_g = Integer()
    amount_fen = Integer()


class EventQuoteSchema(ma.Schema):
    event_id = Integer()
    grams = Integer(metadata={"description": "The actual total rounded up to the kilogram"})
    kinds = ma.fields.List(ma.fields.String())
    options = ma.fields.List(ma.fields.Nested(EventQuoteOptionSchema))


class OffsetCreateSchema(ma.Schema):
    project_id = Integer(required=True, validate=validate.Range(min=1, max=2**63 - 1))
    payment = ma.fields.String(load_default="wechat", validate=validate.OneOf(PAYMENT_METHODS))


class EventBankTransferSchema(ma.Schema):
    reference = ma.fields.String()
    amount_fen = Integer()
    pay_by = UtcDateTime()
    note = ma.fields.String()


class EventPurchaseSchema(ma.Schema):
    order = ma.fields.Nested(OrderSchema)
    request_payment = ma.fields.Nested(RequestPaymentSchema, allow_none=True)
    payment_error = ma.fields.String(allow_none=True)
    bank_transfer = ma.fields.Nested(EventBankTransferSchema, allow_none=True)


class EventFactorSchema(ma.Schema):
    key = ma.fields.String(metadata={"description": "The factor library's key, e.g. electricity.grid.east"})
    category = ma.fields.String(metadata={"enum": list(event_factors.EVENT_CATEGORIES)})
    source_kind = ma.fields.String(
        metadata={"enum": SOURCE_KINDS, "description": "The source kind the factor usually serves"}
    )
    kg_per_unit = DecimalText(metadata={"description": "kg CO2(e) per activity unit"})
    activity_unit = ma.fields.String()
    source = ma.fields.String()
    source_url = ma.fields.String()
    year = Integer(allow_none=True, metadata={"description": "Empty where the source states none"})
    factor_set_version = Integer()


class DisclosureSourceSchema(ma.Schema):
    kind = ma.fields.String()
    description = ma.fields.String()
    activity = DecimalText()
    activity_unit = ma.fields.String()
    factor_key = ma.fields.String()
    factor_set_version = Integer(allow_none=True, metadata={"description": FACTOR_SET_VERSION})
    factor_kg_per_unit = DecimalText()
    factor_source = ma.fields.String()
    grams = Integer()


class TravelByModeSchema(ma.Schema):
    mode = ma.fields.String()
    attendees = Integer()
    passenger_km = DecimalText()


class PhaseDisclosureSchema(ma.Schema):
    sources = ma.fields.List(ma.fields.Nested(DisclosureSourceSchema))
    travel_by_mode = ma.fields.List(ma.fields.Nested(TravelByModeSchema))
    total_grams = Integer()


class EventSerialSchema(ma.Schema):
    serial = ma.fields.String()
    project_code = ma.fields.String()
    project_name = ma.fields.String()
    kind = ma.fields.String()
    vintage = Integer()
    grams = Integer()
    registry_url = ma.fields.String(allow_none=True)
    retirement = ma.fields.String(metadata={"description": "retired or pending"})


class EventCreditsSchema(ma.Schema):
    certificate_number = ma.fields.String()
    verification_code = ma.fields.String()
    grams = Integer()
    serials = ma.fields.List(ma.fields.Nested(EventSerialSchema))


class OffsetDisclosureSchema(ma.Schema):
    order = ma.fields.String(allow_none=True)
    order_status = ma.fields.String(allow_none=True)
    grams = Integer(allow_none=True)
    credits = ma.fields.Nested(EventCreditsSchema, allow_none=True)


class DisclosureSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": PUBLIC_CODE})
    name = ma.fields.String()
    organisation = ma.fields.String()
    start_date = Day()
    end_date = Day()
    venue_city = ma.fields.String()
    expected_attendees = Integer()
    actual_attendees = Integer(allow_none=True)
    stage = ma.fields.String()
    offset_deadline = Day(metadata={"description": OFFSET_DEADLINE})
    offset_at = UtcDateTime(allow_none=True, metadata={"description": OFFSET_AT})
    declared_at = UtcDateTime(allow_none=True)
    boundary = ma.fields.String()
    reduction_measures = ma.fields.String()
    offset_plan = ma.fields.String()
    distance_method = ma.fields.String()
    estimate = ma.fields.Nested(PhaseDisclosureSchema)
    actual = ma.fields.Nested(PhaseDisclosureSchema)
    offset = ma.fields.Nested(OffsetDisclosureSchema)
    neutral = ma.fields.Boolean()
