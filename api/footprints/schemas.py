"""Schemas of the footprint calculator's inputs, its stored results and the trend."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.fields import Day, Integer, Number

# The schema's outer bound on any amount; the calculator's plausibility limits (docs/footprint.md)
# are far below it and answer with the field named.
AMOUNT_MAX = 10_000_000
MAX_TRIPS = 10_000


def _amount(description: str) -> Number:
    return Number(0, AMOUNT_MAX, allow_none=True, metadata={"description": description})


class HomeSchema(ma.Schema):
    electricity_kwh = _amount("Electricity used at home, kWh (regional grid factor of your province)")
    natural_gas_m3 = _amount("Piped natural gas, m³")
    lpg_kg = _amount("Bottled liquefied petroleum gas, kg")


class FuelSchema(ma.Schema):
    fuel = ma.fields.String(
        required=True, validate=validate.Length(max=32), metadata={"description": "gasoline, diesel or lpg"}
    )
    amount = Number(0, AMOUNT_MAX, required=True)
    unit = ma.fields.String(
        load_default="L",
        validate=validate.Length(max=8),
        metadata={"description": "L (litres at the pump) or kg"},
    )


class FlightSchema(ma.Schema):
    from_ = ma.fields.String(
        required=True,
        data_key="from",
        validate=validate.Length(max=64),
        metadata={"description": "City id or Chinese name, e.g. fuzhou / 福州"},
    )
    to = ma.fields.String(required=True, validate=validate.Length(max=64))
    round_trip = ma.fields.Boolean(load_default=False)
    trips = Integer(load_default=1, validate=validate.Range(min=0, max=MAX_TRIPS))

    @ma.post_load
    def _rename(self, data, **kwargs):
        data["from"] = data.pop("from_")
        return data


class TransportSchema(ma.Schema):
    fuel = ma.fields.List(
        ma.fields.Nested(FuelSchema),
        validate=validate.Length(max=20),
        metadata={"description": "Car fuel bought"},
    )
    car_km = _amount("Kilometres by private car (per passenger)")
    electric_car_kwh = _amount("kWh charged into an electric car (regional grid factor)")
    metro_km = _amount("Kilometres by metro")
    high_speed_rail_km = _amount("Kilometres by high-speed rail")
    flights = ma.fields.List(ma.fields.Nested(FlightSchema), validate=validate.Length(max=50))


class FoodSchema(ma.Schema):
    item = ma.fields.String(
        required=True,
        validate=validate.Length(max=64),
        metadata={"description": "A food of the factor set, e.g. beef, pork, rice"},
    )
    kg = Number(0, AMOUNT_MAX, required=True)


class DietSchema(ma.Schema):
    food = ma.fields.List(ma.fields.Nested(FoodSchema), validate=validate.Length(max=50))


class FootprintInputSchema(ma.Schema):
    period_type = ma.fields.String(load_default="month", validate=validate.OneOf(["month", "year"]))
    period_start = Day(
        metadata={"description": "Any day of the period (its first day is kept); default: this month or year"}
    )
    province = ma.fields.String(
        validate=validate.Length(max=64),
        metadata={
            "description": "Province id or name for the grid factor; default: your profile, else national"
        },
    )
    city = ma.fields.String(
        validate=validate.Length(max=64), metadata={"description": "City, when no province"}
    )
    home = ma.fields.Nested(HomeSchema)
    transport = ma.fields.Nested(TransportSchema)
    diet = ma.fields.Nested(DietSchema)


class BreakdownItemSchema(ma.Schema):
    activity = ma.fields.String()
    factor_key = ma.fields.String()
    amount = ma.fields.String(metadata={"description": "Decimal text"})
    amount_unit = ma.fields.String()
    factor_value = ma.fields.String(metadata={"description": "Decimal text"})
    factor_unit = ma.fields.String()
    grams = Integer(metadata={"description": "Rounded half-up to the gram"})
    source = ma.fields.String()
    source_url = ma.fields.String()
    details = ma.fields.Dict()


class CategorySchema(ma.Schema):
    category = ma.fields.String()
    total_g = Integer(metadata={"description": "Sum of the category's items"})
    items = ma.fields.List(ma.fields.Nested(BreakdownItemSchema))


class ComparisonSchema(ma.Schema):
    factor_key = ma.fields.String()
    national_annual_g = Integer()
    national_period_g = Integer()
    percent_of_national = ma.fields.String(allow_none=True)
    year = Integer(allow_none=True)
    source = ma.fields.String()
    source_url = ma.fields.String()


class OffsetSuggestionSchema(ma.Schema):
    units = Integer(metadata={"description": "One-yuan units: total rounded up to whole units"})
    unit_g = Integer()
    grams = Integer()
    price_fen = Integer()


class FootprintSchema(ma.Schema):
    id = Integer()
    period_type = ma.fields.Function(lambda f: f.period_type.value)
    period_start = Day()
    factor_set_version = Integer()
    total_g = Integer(metadata={"description": "Sum of every item's rounded grams"})
    categories = ma.fields.Function(
        lambda f: f.breakdown["categories"], metadata={"description": "home, transport, diet"}
    )
    comparison = ma.fields.Function(lambda f: f.breakdown.get("comparison"))
    offset = ma.fields.Function(lambda f: f.breakdown["offset"])
    place = ma.fields.Function(
        lambda f: f.breakdown.get("place"),
        metadata={
            "description": "Province whose grid factor was used and whether from the form or the profile; null: national"
        },
    )
    inputs = ma.fields.Dict()
    created_at = ma.fields.DateTime()


class FootprintOffsetSchema(ma.Schema):
    """The optional choices of a one-tap offset, as an order takes them (`POST /api/v1/orders`)."""

    holder_name = ma.fields.String(
        load_default="",
        validate=validate.Length(max=32),
        metadata={"description": "Name shown on the certificate; empty: the default holder (碳汇认购人)"},
    )
    project_id = Integer(
        validate=validate.Range(min=1),
        metadata={"description": "Buy from this project; it must be sold as one-yuan carbon sink"},
    )
    owner_id = Integer(
        validate=validate.Range(min=1), metadata={"description": "Buy from this forest farmer or collective"}
    )


class TrendQuerySchema(ma.Schema):
    period_type = ma.fields.String(load_default="month", validate=validate.OneOf(["month", "year"]))
    limit = Integer(load_default=24, validate=validate.Range(min=1, max=120))


class TrendPointSchema(ma.Schema):
    period_start = Day()
    total_g = Integer()
    footprint_id = Integer()
    factor_set_version = Integer()
