"""Schemas of factor sets, their factors, and the admin upload."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import validate

from api.fields import Integer


class FactorSchema(ma.Schema):
    key = ma.fields.String(metadata={"description": "Stable key, e.g. electricity.grid.east"})
    category = ma.fields.String()
    activity = ma.fields.String()
    unit = ma.fields.String(metadata={"description": "e.g. kgCO2/kWh, gCO2/pkm, kgCO2e/kg"})
    value = ma.fields.String(metadata={"description": "Exact decimal text"})
    region = ma.fields.String()
    year = Integer(allow_none=True)
    source = ma.fields.String(metadata={"description": "Citation of the published source"})
    source_url = ma.fields.String()
    note = ma.fields.String()


class FactorSetSchema(ma.Schema):
    version = Integer()
    published_at = ma.fields.DateTime()
    note = ma.fields.String()
    is_current = ma.fields.Boolean()
    source = ma.fields.String()
    factor_count = Integer()
    province_count = Integer()
    city_count = Integer()


class ProvinceSchema(ma.Schema):
    id = ma.fields.String()
    name_zh = ma.fields.String()
    grid_region = ma.fields.String()
    note = ma.fields.String()


class CitySchema(ma.Schema):
    id = ma.fields.String()
    name_zh = ma.fields.String()
    province = ma.fields.String()
    lat = ma.fields.String()
    lon = ma.fields.String()
    note = ma.fields.String()


class CurrentFactorSetSchema(FactorSetSchema):
    factors = ma.fields.List(ma.fields.Nested(FactorSchema))
    provinces = ma.fields.List(ma.fields.Nested(ProvinceSchema))
    cities = ma.fields.List(ma.fields.Nested(CitySchema))


class FactorFilterSchema(ma.Schema):
    category = ma.fields.String(validate=validate.Length(max=32))


class FactorUploadSchema(ma.Schema):
    file = Upload(
        required=True,
        metadata={
            "description": "Factors as CSV (key, category, activity, unit, value, region, year, source, "
            "source_url, note) or JSON (a list, or an object with factors, provinces, cities, note)"
        },
    )
    provinces = Upload(metadata={"description": "provinces.csv; default: those of the current version"})
    cities = Upload(metadata={"description": "cities.csv; default: those of the current version"})


class FactorUploadFormSchema(ma.Schema):
    note = ma.fields.String(load_default="", validate=validate.Length(max=500))
    mode = ma.fields.String(
        load_default="merge",
        validate=validate.OneOf(["merge", "replace"]),
        metadata={
            "description": "merge: keep the current version's factors the upload does not have; "
            "replace: the new version has only the uploaded factors"
        },
    )


class PublishedSetSchema(ma.Schema):
    version = Integer()
    factor_count = Integer()
    province_count = Integer()
    city_count = Integer()
    carried_over = ma.fields.List(
        ma.fields.String(), metadata={"description": "Tables kept from the previous version"}
    )
    published_at = ma.fields.DateTime()
