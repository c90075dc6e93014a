"""Schemas of the admin catalogue: credit kinds, project owners, projects and prices."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.fields import Integer, https_url
from models import OwnerKind

MAX_PRICE_FEN_PER_T = 100_000_000  # ¥1,000,000 per tonne: anything above is a typing slip
KIND_CODE = [
    validate.Length(max=32),
    validate.Regexp(r"^[A-Z][A-Z0-9_-]{1,31}$", error="Upper-case letters, digits, - or _, e.g. FFCER."),
]
PROJECT_CODE = [
    validate.Length(max=64),
    validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", error="Letters, digits, '.', '-' or '_', at most 64."
    ),
]
DESCRIPTION_MAX = 20_000


def _price(description: str = "Price per tonne in fen (¥100/t = 10000)", **kwargs) -> ma.fields.Integer:
    return Integer(
        strict=True,
        validate=validate.Range(min=0, max=MAX_PRICE_FEN_PER_T),
        metadata={"description": description},
        **kwargs,
    )


def _text(max_length: int, **kwargs) -> ma.fields.String:
    return ma.fields.String(validate=validate.Length(max=max_length), **kwargs)


def _name(max_length: int = 200, **kwargs) -> ma.fields.String:
    return ma.fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


class KindUpdateSchema(ma.Schema):
    name = _name()
    registry_name = _text(200)
    description = _text(DESCRIPTION_MAX)
    price_fen_per_t = _price()


class KindCreateSchema(KindUpdateSchema):
    code = ma.fields.String(required=True, validate=KIND_CODE)
    name = _name(required=True)


class KindSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    registry_name = ma.fields.String()
    description = ma.fields.String()
    price_fen_per_t = Integer()
    created_at = ma.fields.DateTime()


class KindPriceSchema(ma.Schema):
    price_fen_per_t = _price(required=True)


class ProjectPriceSchema(ma.Schema):
    price_fen_per_t = _price("Fen per tonne; null uses the kind's price", required=True, allow_none=True)


class OwnerUpdateSchema(ma.Schema):
    name = _name()
    kind = ma.fields.Enum(OwnerKind, by_value=True)
    county = _text(100)


class OwnerCreateSchema(OwnerUpdateSchema):
    name = _name(required=True)


class OwnerSchema(ma.Schema):
    id = Integer()
    name = ma.fields.String()
    kind = ma.fields.Enum(OwnerKind, by_value=True)
    county = ma.fields.String()
    created_at = ma.fields.DateTime()


class ProjectUpdateSchema(ma.Schema):
    name = _name()
    kind_code = ma.fields.String(validate=KIND_CODE)
    county = _text(100)
    location = _text(200)
    owner_id = Integer(strict=True, allow_none=True)
    methodology = _text(200)
    registry_name = _text(200)
    description = _text(DESCRIPTION_MAX)
    image_url = ma.fields.String(
        validate=[validate.Length(max=512), https_url],
        metadata={"description": "An absolute https:// URL of the image; empty: none"},
    )
    price_fen_per_t = _price(allow_none=True)


class ProjectCreateSchema(ProjectUpdateSchema):
    code = ma.fields.String(required=True, validate=PROJECT_CODE)
    name = _name(required=True)
    kind_code = ma.fields.String(required=True, validate=KIND_CODE)


class ProjectSchema(ma.Schema):
    id = Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    kind_code = ma.fields.String()
    county = ma.fields.String()
    location = ma.fields.String()
    owner_id = Integer(allow_none=True)
    methodology = ma.fields.String()
    registry_name = ma.fields.String()
    description = ma.fields.String()
    image_url = ma.fields.String()
    price_fen_per_t = Integer(
        allow_none=True, metadata={"description": "The project's own price per tonne, or null"}
    )
    effective_price_fen_per_t = Integer(
        metadata={"description": "The price per tonne buyers pay: the project's own or its kind's"}
    )
    created_at = ma.fields.DateTime()


class ProjectFilterSchema(ma.Schema):
    kind = ma.fields.String(validate=validate.Length(max=32), metadata={"description": "Credit kind code"})
