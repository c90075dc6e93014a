"""Schemas of the public catalogue."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.fields import Day, Integer
from models import OwnerKind


class ProjectFilterSchema(ma.Schema):
    kind = ma.fields.String(
        validate=validate.Length(max=32), metadata={"description": "Credit kind code, e.g. FFCER"}
    )
    county = ma.fields.String(
        validate=validate.Length(max=100), metadata={"description": "County, e.g. 顺昌县"}
    )
    owner_id = Integer(metadata={"description": "Project owner id (a forest farmer, a village collective)"})


class OwnerFilterSchema(ma.Schema):
    county = ma.fields.String(
        validate=validate.Length(max=100), metadata={"description": "County, e.g. 顺昌县"}
    )
    kind = ma.fields.Enum(OwnerKind, by_value=True, metadata={"description": "Kind of owner"})


class KindRefSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()


class OwnerRefSchema(ma.Schema):
    id = Integer()
    name = ma.fields.String()
    kind = ma.fields.String()
    county = ma.fields.String()


class ProductPriceSchema(ma.Schema):
    product = ma.fields.String(
        required=True, metadata={"description": "`one_yuan` or `credits`, as `product` of an order"}
    )
    unit_g = Integer(required=True, metadata={"description": "Grams the unit price is for"})
    price_fen_per_unit = Integer(
        required=True,
        metadata={
            "description": "Fen per `unit_g` grams: an order of g grams charges "
            "ceil(g × price_fen_per_unit / unit_g) fen (a one-yuan order: units × price_fen_per_unit)"
        },
    )
    min_g = Integer(required=True, metadata={"description": "Fewest grams one order may buy"})
    max_g = Integer(required=True, metadata={"description": "Most grams one order may buy"})


class OneYuanProductSchema(ProductPriceSchema):
    kinds = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "Credit kinds its grams come from"}
    )
    max_units = Integer(required=True, metadata={"description": "Most units in one order"})


class CatalogueProjectSchema(ma.Schema):
    id = Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.Nested(KindRefSchema)
    owner = ma.fields.Nested(OwnerRefSchema, allow_none=True)
    county = ma.fields.String()
    location = ma.fields.String()
    methodology = ma.fields.String()
    image_url = ma.fields.String()
    available_g = Integer(metadata={"description": "Grams of CO2e still for sale"})
    available_t = Integer(metadata={"description": "Whole tonnes among the available grams"})
    price_fen_per_t = Integer(
        metadata={"description": "Price per tonne in fen (the project's or its kind's)"}
    )
    unit_g = Integer(metadata={"description": "Grams in one one-yuan unit"})
    unit_price_fen = Integer(
        allow_none=True,
        metadata={
            "description": "What a one-yuan order charges per unit from this project (a fixed price, the "
            "same for every project); null when the project is not sold as one-yuan carbon sink"
        },
    )
    products = ma.fields.List(
        ma.fields.Nested(ProductPriceSchema),
        metadata={"description": "Every product an order can buy from this project, at what it charges"},
    )


class CatalogueBatchSchema(ma.Schema):
    id = Integer()
    vintage = Integer()
    serial_prefix = ma.fields.String()
    first_serial = ma.fields.String(metadata={"description": "Registry serial of the batch's first tonne"})
    last_serial = ma.fields.String(metadata={"description": "Registry serial of the batch's last tonne"})
    issued_t = Integer()
    issued_g = Integer()
    available_t = Integer()
    available_g = Integer()
    issued_on = Day()
    registry_ref = ma.fields.String()
    registry_url = ma.fields.String()


class CatalogueProjectDetailSchema(CatalogueProjectSchema):
    description = ma.fields.String()
    registry_name = ma.fields.String()
    batches = ma.fields.List(ma.fields.Nested(CatalogueBatchSchema))


class CreditKindSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    registry_name = ma.fields.String()
    description = ma.fields.String()
    price_fen_per_t = Integer()


class CatalogueOwnerSchema(OwnerRefSchema):
    projects = Integer(metadata={"description": "Number of the owner's projects"})
    available_g = Integer()
    available_t = Integer()
