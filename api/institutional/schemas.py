"""Schemas of institutional claims."""

from __future__ import annotations

from decimal import Decimal

import marshmallow as ma
from marshmallow import validate

from api.events.schemas import PAYMENT_METHODS, EventCreditsSchema, EventPurchaseSchema
from api.fields import Integer, UtcDateTime

KINDS = ["ecological_justice", "tree_planting", "annual_neutralisation"]
PUBLIC_CODE = (
    "The random code of the claim's public record, /api/v1/public/institutional-claims/{code}, "
    "which answers once the order is paid (the id opens nothing)"
)


class ClaimCreateSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=validate.OneOf(KINDS))
    tonnes_required = ma.fields.Decimal(
        required=True,
        places=3,
        validate=validate.Range(min=Decimal("0.001"), max=100_000),
        metadata={
            "description": "Tonnes CO2e required (by the judgment, the duty or the annual inventory)",
            "minimum": 0.001,
            "maximum": 100_000,
        },
    )
    project_id = Integer(required=True, validate=validate.Range(min=1, max=2**63 - 1))
    payment = ma.fields.String(load_default="wechat", validate=validate.OneOf(PAYMENT_METHODS))
    case_number = ma.fields.String(validate=validate.Length(max=100))
    court = ma.fields.String(validate=validate.Length(max=200))
    defendant_name = ma.fields.String(validate=validate.Length(max=100))
    year = Integer(validate=validate.Range(min=2000, max=2100))


class InstitutionalClaimSchema(ma.Schema):
    id = Integer()
    organisation_id = Integer()
    kind = ma.fields.Function(lambda c: c.kind.value)
    case_number = ma.fields.String()
    court = ma.fields.String()
    defendant_name = ma.fields.String()
    year = Integer(allow_none=True)
    grams_required = Integer()
    out_trade_no = ma.fields.String()
    public_code = ma.fields.String(metadata={"description": PUBLIC_CODE})
    certificate_title = ma.fields.String()
    certificate_statement = ma.fields.String()
    created_at = UtcDateTime()


class ClaimPlacedSchema(ma.Schema):
    claim = ma.fields.Nested(InstitutionalClaimSchema)
    purchase = ma.fields.Nested(EventPurchaseSchema)


class PublicClaimSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": PUBLIC_CODE})
    kind = ma.fields.String()
    organisation = ma.fields.String()
    case_number = ma.fields.String()
    court = ma.fields.String()
    defendant = ma.fields.String(metadata={"description": "Masked: 张三丰 → 张*丰"})
    year = Integer(allow_none=True)
    grams_required = Integer()
    certificate_title = ma.fields.String()
    certificate_statement = ma.fields.String()
    order_status = ma.fields.String()
    credits = ma.fields.Nested(EventCreditsSchema, allow_none=True)
