"""Schemas of land-use compensations: the quote, the request, the record."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.events.schemas import PAYMENT_METHODS, EventCreditsSchema, EventPurchaseSchema
from api.fields import Integer, PlainText, UtcDateTime

ID = validate.Range(min=1, max=2**63 - 1)
MAX_AREA_M2 = 100_000_000  # 10,000 ha
PUBLIC_CODE = (
    "The random code of the compensation's public record, /api/v1/public/land-compensations/{code}"
    " (and the page /land-compensations/{code}), which answers once the order is paid"
)


class QueryAreaSchema(ma.Schema):
    occupied_area_m2 = Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_AREA_M2),
        metadata={"description": "Forest land the project occupies, in m² (1 ha = 10,000 m²)"},
    )


class CompensationOptionSchema(ma.Schema):
    project_id = Integer()
    project_code = ma.fields.String()
    project_name = ma.fields.String()
    kind = ma.fields.String()
    price_fen_per_t = Integer()
    available_g = Integer()
    amount_fen = Integer(metadata={"description": "The fee: the price of the grams"})
    state_fen = Integer(metadata={"description": "The state's part of the fee"})
    owner_fen = Integer(
        metadata={"description": "The forest-land owner's part; state_fen + owner_fen = amount_fen"}
    )


class CompensationQuoteSchema(ma.Schema):
    occupied_area_m2 = Integer()
    factor_t_per_ha = ma.fields.String(metadata={"description": "tCO2e per hectare, a decimal string"})
    factor_source = ma.fields.String()
    policy = ma.fields.String()
    loss_g = Integer(metadata={"description": "area x factor, rounded half-up to the gram"})
    grams = Integer(metadata={"description": "What is bought: the loss in whole kilograms, rounded up"})
    state_share_bp = Integer(metadata={"description": "The state's share in basis points"})
    options = ma.fields.List(ma.fields.Nested(CompensationOptionSchema))


class CompensationCreateSchema(ma.Schema):
    permit_number = ma.fields.String(
        required=True,
        validate=[validate.Length(min=1, max=64), PlainText()],
        metadata={"description": "The number of the forest-land use permit (使用林地审核同意书)"},
    )
    permit_authority = ma.fields.String(
        required=True, validate=[validate.Length(min=1, max=200), PlainText()]
    )
    business_project = ma.fields.String(
        required=True, validate=[validate.Length(min=1, max=200), PlainText()]
    )
    location = ma.fields.String(validate=[validate.Length(max=200), PlainText()])
    occupied_area_m2 = Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_AREA_M2),
        metadata={"description": "Forest land the project occupies, in m² (1 ha = 10,000 m²)"},
    )
    project_id = Integer(required=True, validate=ID, metadata={"description": "The credits' project"})
    payment = ma.fields.String(load_default="wechat", validate=validate.OneOf(PAYMENT_METHODS))


class CompensationSchema(ma.Schema):
    id = Integer()
    organisation_id = Integer()
    permit_number = ma.fields.String()
    permit_authority = ma.fields.String()
    business_project = ma.fields.String()
    location = ma.fields.String()
    occupied_area_m2 = Integer()
    factor_t_per_ha = ma.fields.String()
    factor_source = ma.fields.String()
    grams = Integer()
    project_id = Integer()
    amount_fen = Integer()
    state_share_bp = Integer()
    state_fen = Integer()
    owner_fen = Integer()
    out_trade_no = ma.fields.String()
    order_status = ma.fields.String()
    public_code = ma.fields.String(metadata={"description": PUBLIC_CODE})
    certificate_title = ma.fields.String()
    certificate_statement = ma.fields.String()
    created_at = UtcDateTime()


class CompensationPlacedSchema(ma.Schema):
    compensation = ma.fields.Nested(CompensationSchema)
    purchase = ma.fields.Nested(EventPurchaseSchema)


class CompensationQuerySchema(ma.Schema):
    permit_number = ma.fields.String(validate=[validate.Length(min=1, max=64), PlainText()])


class PublicCompensationSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": PUBLIC_CODE})
    kind = ma.fields.String()
    organisation = ma.fields.String()
    permit_number = ma.fields.String()
    permit_authority = ma.fields.String()
    business_project = ma.fields.String()
    location = ma.fields.String()
    occupied_area_m2 = Integer()
    factor_t_per_ha = ma.fields.String()
    factor_source = ma.fields.String()
    grams_required = Integer()
    certificate_title = ma.fields.String()
    certificate_statement = ma.fields.String()
    order_status = ma.fields.String()
    credits = ma.fields.Nested(EventCreditsSchema, allow_none=True)
