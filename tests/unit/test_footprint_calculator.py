"""The calculator against hand-computed golden cases from the cited factors in `data/factors`, and its properties."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.footprint.footprint_calculator import (
    City,
    FactorTable,
    FootprintInputError,
    calculate,
    great_circle_km,
    suggested_offset,
)
from tests.support.factors import library_table

TABLE = library_table()


def test_golden_month_in_fujian_by_hand():
    inputs = {
        "province": "fujian",  # Fujian → East China grid, 0.5500 kgCO2/kWh
        "home": {"electricity_kwh": 230, "natural_gas_m3": "12", "lpg_kg": "5"},
        "transport": {
            "fuel": [
                {"fuel": "gasoline", "amount": 40, "unit": "L"},
                {"fuel": "diesel", "amount": 10, "unit": "kg"},
            ],
            "car_km": 100,
            "metro_km": 200,
            "high_speed_rail_km": 600,
            "electric_car_kwh": 80,
        },
        "diet": {"food": [{"item": "beef", "kg": "0.5"}, {"item": "rice", "kg": 3}]},
    }
    result = calculate(inputs, TABLE, "month", unit_g=10_000, unit_price_fen=100)
    grams = {(item.factor.key, item.amount_unit): item.grams for item in result.items}
    # electricity: 230 kWh × 0.5500 kg/kWh = 126.5 kg = 126,500 g
    assert [i.grams for i in result.items if i.activity == "electricity"] == [126_500]
    # natural gas: 12 m3 × 2.1622 = 25.9464 kg → 25,946.4 g → 25,946 g
    assert grams[("fuel.natural_gas", "m3")] == 25_946
    # LPG: 5 kg × 3.1013 = 15.5065 kg → 15,506.5 g → 15,507 g (half-up)
    assert grams[("fuel.lpg", "kg")] == 15_507
    # gasoline: 40 L × 0.7475 kg/L = 29.9 kg; × 2.9251 = 87.46049 kg → 87,460.49 g → 87,460 g
    assert grams[("fuel.gasoline", "L")] == 87_460
    # diesel: 10 kg × 3.0959 = 30.959 kg = 30,959 g
    assert grams[("fuel.diesel", "kg")] == 30_959
    # car: 100 km × 0.27 kg = 27,000 g; metro: 200 km × 0.06 kg = 12,000 g; HSR: 600 km × 30.48 g = 18,288 g
    assert grams[("transport.car.private", "pkm")] == 27_000
    assert grams[("transport.metro", "pkm")] == 12_000
    assert grams[("transport.rail.high_speed", "pkm")] == 18_288
    # electric car: 80 kWh × 0.5500 = 44 kg = 44,000 g
    assert [i.grams for i in result.items if i.activity == "electric car charging"] == [44_000]
    # beef: 0.5 kg × 99.48 = 49.74 kg = 49,740 g; rice: 3 kg × 4.45 = 13.35 kg = 13,350 g
    assert grams[("food.beef", "kg")] == 49_740
    assert grams[("food.rice", "kg")] == 13_350
    # total: 126,500 + 25,946 + 15,507 + 87,460 + 30,959 + 27,000 + 12,000 + 18,288 + 44,000 + 49,740 + 13,350
    assert result.total_g == 450_750
    # home 126,500 + 25,946 + 15,507 = 167,953; diet 49,740 + 13,350 = 63,090
    assert result.category_total("home") == 167_953
    assert result.category_total("diet") == 63_090
    assert result.category_total("transport") == 450_750 - 167_953 - 63_090
    # offset: ceil(450,750 / 10,000) = 46 units = 460,000 g, ¥46
    assert result.offset == {"units": 46, "unit_g": 10_000, "grams": 460_000, "price_fen": 4_600}
    # national average 6.8 t a year: a month is 6,800,000 / 12 = 566,666.67 → 566,667 g;
    # 450,750 × 100 / 566,667 = 79.544… → 79.5 %
    assert result.comparison["national_period_g"] == 566_667
    assert result.comparison["percent_of_national"] == "79.5"
    assert result.comparison["year"] == 2018


def test_golden_flights_with_icao_distance_bands():
    inputs = {
        "transport": {
            "flights": [
                {"from": "fuzhou", "to": "北京", "round_trip": True},
                {"from": "福州市", "to": "xiamen", "trips": 2},
            ]
        }
    }
    result = calculate(inputs, TABLE)
    beijing, xiamen = result.items
    # Fuzhou (26.07, 119.30) → Beijing (39.90, 116.41): great circle 1,561.0 km; 550–5,500 km band +100 km
    # = 1,661 km; round trip = 3,322 pkm × 95.3 g = 316,586.6 g → 316,587 g
    assert beijing.details["great_circle_km"] == "1561"
    assert beijing.details["distance_km"] == "1661"
    assert beijing.grams == 316_587
    # Fuzhou → Xiamen (24.48, 118.09): 214.6 km; under 550 km +50 km = 264.6 km; 2 trips one way
    # = 529.2 pkm × 95.3 g = 50,432.76 g → 50,433 g
    assert xiamen.details["great_circle_km"] == "214.6"
    assert xiamen.grams == 50_433
    assert result.total_g == 316_587 + 50_433


def test_great_circle_agrees_with_the_spherical_law_of_cosines():
    fuzhou, beijing = TABLE.city("fuzhou"), TABLE.city("beijing")
    lat1, lon1, lat2, lon2 = map(math.radians, (26.07, 119.30, 39.90, 116.41))
    cosines = 6371.0088 * math.acos(
        math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    )
    assert abs(float(great_circle_km(fuzhou, beijing)) - cosines) < 0.06


def test_long_flights_get_the_largest_correction():
    far = City("far", "远", "fujian", Decimal("60.00"), Decimal("10.00"))
    table = replace(TABLE, cities={**TABLE.cities, "far": far}, _province_names={}, _city_names={})
    result = calculate({"transport": {"flights": [{"from": "fuzhou", "to": "far"}]}}, table)
    (flight,) = result.items
    assert Decimal(flight.details["great_circle_km"]) > 5500
    assert flight.details["correction_km"] == "125"


def test_province_and_city_pick_the_regional_grid():
    def electricity(**place):
        result = calculate({"home": {"electricity_kwh": 100}, **place}, TABLE)
        return result.items[0].factor.key, result.total_g

    # Sichuan is in the Southwest grid: 100 kWh × 0.2472 kg = 24,720 g
    assert electricity(province="四川省") == ("electricity.grid.southwest", 24_720)
    # Shunchang is a county of Nanping, Fujian → East China: 100 × 0.5500 kg = 55,000 g
    assert electricity(city="顺昌") == ("electricity.grid.east", 55_000)
    # Lishui is in Zhejiang → East China too
    assert electricity(city="lishui") == ("electricity.grid.east", 55_000)
    # Unknown place: the national average, 100 × 0.5306 kg = 53,060 g
    assert electricity() == ("electricity.grid.national", 53_060)
    # A profile's city is used when the inputs name no place: Guangzhou → South, 100 × 0.4042 = 40,420 g
    result = calculate({"home": {"electricity_kwh": 100}}, TABLE, default_place=("广州", ""))
    assert result.total_g == 40_420


def test_every_mainland_province_maps_to_a_grid_factor():
    assert len(TABLE.provinces) == 31
    for province in TABLE.provinces.values():
        assert f"electricity.grid.{province.grid_region}" in TABLE.factors
    assert TABLE.province("fujian").grid_region == "east"
    assert TABLE.province("zhejiang").grid_region == "east"
    for city in ("fuzhou", "xiamen", "sanming", "nanping", "shunchang", "lishui", "hangzhou"):
        assert TABLE.city(city) is not None


def test_every_factor_carries_a_source():
    for factor in TABLE.factors.values():
        assert factor.source.strip(), factor.key


@pytest.mark.parametrize(
    ("inputs", "path"),
    [
        ({"home": {"electricity_kwh": 10**9}}, ("home", "electricity_kwh")),
        ({"home": {"natural_gas_m3": -1}}, ("home", "natural_gas_m3")),
        ({"province": "atlantis"}, ("province",)),
        ({"city": "atlantis"}, ("city",)),
        ({"transport": {"fuel": [{"fuel": "kerosene", "amount": 1}]}}, ("transport", "fuel", "0", "fuel")),
        (
            {"transport": {"fuel": [{"fuel": "diesel", "amount": 1, "unit": "gal"}]}},
            ("transport", "fuel", "0", "unit"),
        ),
        (
            {"transport": {"fuel": [{"fuel": "lpg", "amount": 1, "unit": "L"}]}},
            ("transport", "fuel", "0", "unit"),
        ),
        (
            {"transport": {"flights": [{"from": "fuzhou", "to": "gotham"}]}},
            ("transport", "flights", "0", "to"),
        ),
        ({"transport": {"flights": [{"from": "fuzhou", "to": "福州"}]}}, ("transport", "flights", "0", "to")),
        ({"diet": {"food": [{"item": "unicorn", "kg": 1}]}}, ("diet", "food", "0", "item")),
        ({"diet": {"food": [{"item": "beef", "kg": "NaN"}]}}, ("diet", "food", "0", "kg")),
    ],
)
def test_bad_inputs_name_their_field(inputs, path):
    with pytest.raises(FootprintInputError) as caught:
        calculate(inputs, TABLE)
    node = caught.value.errors
    for part in path:
        node = node[part]
    assert node and all(isinstance(message, str) for message in node)


def test_limits_scale_with_the_period():
    with pytest.raises(FootprintInputError):
        calculate({"home": {"electricity_kwh": 50_000}}, TABLE, "month")
    # 50,000 kWh in a year is within 12 × 10,000: 50,000 × 0.5306 kg = 26,530,000 g
    assert calculate({"home": {"electricity_kwh": 50_000}}, TABLE, "year").total_g == 26_530_000


def test_a_year_compares_with_the_whole_national_average():
    result = calculate({"home": {"electricity_kwh": 1_000}}, TABLE, "year")
    # 1,000 kWh × 0.5306 = 530,600 g; 530,600 × 100 / 6,800,000 = 7.80… → 7.8 %
    assert result.comparison["national_period_g"] == 6_800_000
    assert result.comparison["percent_of_national"] == "7.8"


def test_offset_rounds_up_to_whole_units():
    assert suggested_offset(0, 10_000, 100)["units"] == 0
    assert suggested_offset(1, 10_000, 100) == {
        "units": 1,
        "unit_g": 10_000,
        "grams": 10_000,
        "price_fen": 100,
    }
    assert suggested_offset(10_000, 10_000, 100)["units"] == 1
    assert suggested_offset(10_001, 10_000, 100)["units"] == 2


def test_an_empty_form_is_zero():
    result = calculate({}, TABLE)
    assert result.total_g == 0 and result.items == ()
    assert result.offset["units"] == 0


# -- properties --

amounts = st.decimals(min_value=0, max_value=200, places=3, allow_nan=False, allow_infinity=False)
CITY_IDS = sorted(TABLE.cities)
FOODS = TABLE.food_items()

form = st.fixed_dictionaries(
    {
        "province": st.sampled_from(sorted(TABLE.provinces)),
        "home": st.fixed_dictionaries(
            {"electricity_kwh": amounts, "natural_gas_m3": amounts, "lpg_kg": amounts}
        ),
        "transport": st.fixed_dictionaries(
            {
                "fuel": st.lists(
                    st.fixed_dictionaries(
                        {
                            "fuel": st.sampled_from(["gasoline", "diesel"]),
                            "amount": amounts,
                            "unit": st.sampled_from(["L", "kg"]),
                        }
                    ),
                    max_size=3,
                ),
                "car_km": amounts,
                "metro_km": amounts,
                "high_speed_rail_km": amounts,
                "electric_car_kwh": amounts,
                "flights": st.lists(
                    st.tuples(
                        st.sampled_from(CITY_IDS), st.sampled_from(CITY_IDS), st.booleans(), st.integers(0, 5)
                    )
                    .filter(lambda f: f[0] != f[1])
                    .map(lambda f: {"from": f[0], "to": f[1], "round_trip": f[2], "trips": f[3]}),
                    max_size=3,
                ),
            }
        ),
        "diet": st.fixed_dictionaries(
            {
                "food": st.lists(
                    st.fixed_dictionaries({"item": st.sampled_from(FOODS), "kg": amounts}), max_size=4
                )
            }
        ),
    }
)

SCALARS = [
    ("home", "electricity_kwh"),
    ("home", "natural_gas_m3"),
    ("home", "lpg_kg"),
    ("transport", "car_km"),
    ("transport", "metro_km"),
    ("transport", "high_speed_rail_km"),
    ("transport", "electric_car_kwh"),
]


@settings(max_examples=150, deadline=None)
@given(form)
def test_total_is_the_sum_of_the_items_and_of_the_categories(inputs):
    result = calculate(inputs, TABLE)
    document = result.as_json()
    assert document["total_g"] == sum(item["grams"] for c in document["categories"] for item in c["items"])
    assert document["total_g"] == sum(c["total_g"] for c in document["categories"])
    for category in document["categories"]:
        assert category["total_g"] == sum(item["grams"] for item in category["items"])
    assert document["offset"]["grams"] >= document["total_g"] > document["offset"]["grams"] - 10_000 or (
        document["total_g"] == 0
    )


@settings(max_examples=150, deadline=None)
@given(form, st.sampled_from(SCALARS), st.decimals(min_value=0, max_value=100, places=3))
def test_the_total_never_decreases_when_an_activity_grows(inputs, where, more):
    before = calculate(inputs, TABLE).total_g
    section, name = where
    grown = {**inputs, section: {**inputs[section], name: inputs[section][name] + more}}
    assert calculate(grown, TABLE).total_g >= before


@settings(max_examples=100, deadline=None)
@given(form, st.integers(1, 3))
def test_more_trips_or_food_never_lower_the_total(inputs, extra_trips):
    before = calculate(inputs, TABLE).total_g
    transport = {
        **inputs["transport"],
        "flights": [{**f, "trips": f["trips"] + extra_trips} for f in inputs["transport"]["flights"]],
    }
    diet = {"food": [*inputs["diet"]["food"], {"item": FOODS[0], "kg": Decimal("0.1")}]}
    assert calculate({**inputs, "transport": transport, "diet": diet}, TABLE).total_g >= before


@settings(max_examples=100, deadline=None)
@given(form)
def test_same_inputs_and_version_give_the_same_result(inputs):
    first = calculate(inputs, TABLE).as_json()
    again = calculate(inputs, library_table()).as_json()
    assert first == again


def test_a_table_is_a_plain_mapping_of_factors():
    assert isinstance(TABLE, FactorTable)
    assert TABLE.factors["electricity.grid.east"].value == Decimal("0.5500")
