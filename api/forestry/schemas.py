"""Schemas of memorial forests, plots, plantings, survival checks and tree adoptions."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.events.schemas import EventBankTransferSchema
from api.fields import Day, Integer, PlainText, UtcDateTime
from api.orders.schemas import OrderSchema, RequestPaymentSchema

ID = validate.Range(min=1, max=2**63 - 1)
CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$", error="letters, digits, - and _, at most 32")
MAX_AREA_M2 = 100_000_000  # 10,000 ha
MAX_TREES = 1_000_000
MAX_FEN_PER_TREE = 100_000_000  # ¥1,000,000
ADOPTION_STATUSES = ["pending", "active", "refunded"]
PUBLIC_CODE = (
    "The random code of the adoption's public record, /api/v1/public/adoptions/{code} (and the page"
    " /adoptions/{code}), which answers once the donation is paid"
)


def _text(most: int, required: bool = True, lines: bool = False, **kwargs):
    least = 1 if required else 0
    return ma.fields.String(
        required=required, validate=[validate.Length(min=least, max=most), PlainText(lines)], **kwargs
    )


class ForestCreateSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=[validate.Length(min=1, max=32), CODE])
    name = _text(100)
    place = _text(200)
    owner_id = Integer(
        required=True, validate=ID, metadata={"description": "The forest-land owner (a project owner)"}
    )
    description = _text(2000, required=False, lines=True)


class ForestSchema(ma.Schema):
    id = Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    place = ma.fields.String()
    owner_id = Integer()
    owner = ma.fields.Function(lambda forest: forest.owner.name)
    description = ma.fields.String()
    created_at = UtcDateTime()


class PlotCreateSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=[validate.Length(min=1, max=32), CODE])
    area_m2 = Integer(required=True, validate=validate.Range(min=1, max=MAX_AREA_M2))
    species = ma.fields.List(
        ma.fields.String(validate=[validate.Length(min=1, max=64), PlainText()]),
        required=True,
        validate=validate.Length(min=1, max=20),
    )
    tree_capacity = Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_TREES),
        metadata={"description": "How many trees of the plot may be adopted"},
    )
    donation_fen_per_tree = Integer(required=True, validate=validate.Range(min=1, max=MAX_FEN_PER_TREE))
    credit_project_id = Integer(
        allow_none=True,
        validate=ID,
        metadata={
            "description": "The credit project the plot's sink is enrolled in; such a plot is not adoptable"
        },
    )


class PlotEnrolSchema(ma.Schema):
    credit_project_id = Integer(
        required=True,
        allow_none=True,
        validate=ID,
        metadata={"description": "A credit project of the pool, or null to take the plot out of it"},
    )


class PlotSchema(ma.Schema):
    id = Integer()
    forest_id = Integer()
    forest_code = ma.fields.String()
    forest_name = ma.fields.String()
    place = ma.fields.String()
    owner = ma.fields.String()
    code = ma.fields.String()
    area_m2 = Integer()
    species = ma.fields.List(ma.fields.String())
    tree_capacity = Integer()
    trees_held = Integer(metadata={"description": "Adopted, or waiting for the adopter's payment"})
    trees_free = Integer()
    donation_fen_per_tree = Integer()
    credit_project_id = Integer(allow_none=True)
    adoptable = ma.fields.Boolean()


class PlantingCreateSchema(ma.Schema):
    species = _text(64)
    trees = Integer(required=True, validate=validate.Range(min=1, max=MAX_TREES))
    area_m2 = Integer(required=True, validate=validate.Range(min=1, max=MAX_AREA_M2))
    planted_on = Day(required=True)


class SurvivalCheckCreateSchema(ma.Schema):
    checked_on = Day(required=True)
    surviving = Integer(required=True, validate=validate.Range(min=0, max=MAX_TREES))
    notes = _text(500, required=False, lines=True)


class SurvivalCheckSchema(ma.Schema):
    id = Integer()
    planting_id = Integer()
    checked_on = Day()
    surviving = Integer()
    notes = ma.fields.String()


class CheckRowSchema(ma.Schema):
    checked_on = Day()
    surviving = Integer()
    notes = ma.fields.String()


class PlantingSchema(ma.Schema):
    id = Integer()
    species = ma.fields.String()
    trees = Integer()
    area_m2 = Integer()
    planted_on = Day()
    surviving = Integer(allow_none=True)
    survival_rate = ma.fields.String(
        allow_none=True, metadata={"description": "Surviving / planted at the latest check, in %, e.g. 92.5"}
    )
    last_checked_on = Day(allow_none=True)
    checks = ma.fields.List(ma.fields.Nested(CheckRowSchema))


class PlantingRecordedSchema(ma.Schema):
    id = Integer()
    plot_id = Integer()
    species = ma.fields.String()
    trees = Integer()
    area_m2 = Integer()
    planted_on = Day()


class AdoptionCreateSchema(ma.Schema):
    plot_id = Integer(required=True, validate=ID)
    trees = Integer(validate=validate.Range(min=1, max=MAX_TREES), metadata={"description": "Or whole_plot"})
    whole_plot = ma.fields.Boolean(load_default=False)
    holder_name = _text(64, required=False, metadata={"description": "The name on the certificate"})
    organisation_id = Integer(
        validate=ID, metadata={"description": "Adopt for this organisation (its points, its certificate)"}
    )
    payment = ma.fields.String(
        load_default="wechat",
        validate=validate.OneOf(["wechat", "bank_transfer"]),
        metadata={"description": "bank_transfer for an organisation only"},
    )


class AdoptionSchema(ma.Schema):
    id = Integer()
    plot_id = Integer()
    plot_code = ma.fields.String()
    forest_id = Integer()
    forest_name = ma.fields.String()
    place = ma.fields.String()
    species = ma.fields.List(ma.fields.String())
    trees = Integer()
    whole_plot = ma.fields.Boolean()
    holder_name = ma.fields.String()
    organisation_id = Integer(allow_none=True)
    donation_fen = Integer()
    points = Integer(metadata={"description": "Points it earns once paid (ADOPTION_POINTS_PER_TREE a tree)"})
    status = ma.fields.String(
        metadata={"enum": ["pending", "lapsed", "active", "refunded"], "description": "lapsed: never paid"}
    )
    out_trade_no = ma.fields.String()
    order_status = ma.fields.String()
    public_code = ma.fields.String(metadata={"description": PUBLIC_CODE})
    certificate_number = ma.fields.String(allow_none=True)
    created_at = UtcDateTime()
    activated_at = UtcDateTime(allow_none=True)
    refunded_at = UtcDateTime(allow_none=True)


class AdoptionPlacedSchema(ma.Schema):
    adoption = ma.fields.Nested(AdoptionSchema)
    order = ma.fields.Nested(OrderSchema, metadata={"description": "The donation order: no grams, no lines"})
    request_payment = ma.fields.Nested(RequestPaymentSchema, allow_none=True)
    payment_error = ma.fields.String(allow_none=True)
    bank_transfer = ma.fields.Nested(EventBankTransferSchema, allow_none=True)


class AdoptionQuerySchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(ADOPTION_STATUSES))
    plot_id = Integer(validate=ID)


class PublicAdoptionSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": PUBLIC_CODE})
    valid = ma.fields.Boolean(metadata={"description": "False once the donation was refunded"})
    status = ma.fields.String()
    certificate_number = ma.fields.String(allow_none=True)
    holder = ma.fields.String(metadata={"description": "A person's name masked (张三丰 → 张*丰)"})
    forest_name = ma.fields.String()
    forest_code = ma.fields.String()
    place = ma.fields.String()
    owner = ma.fields.String()
    plot_code = ma.fields.String()
    area_m2 = Integer()
    species = ma.fields.List(ma.fields.String())
    trees = Integer()
    whole_plot = ma.fields.Boolean()
    activated_at = UtcDateTime(allow_none=True)
    activated_on = Day(allow_none=True, metadata={"description": "The day it was paid, Beijing time"})
    refunded_at = UtcDateTime(allow_none=True)
    plantings = ma.fields.List(ma.fields.Nested(PlantingSchema))
    statement = ma.fields.String(
        metadata={"description": "That the trees' sink is not sold nor counted as an offset"}
    )
