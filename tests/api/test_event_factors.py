"""Event accounting reads the factor library's current published set and records which version it used."""

import io

import pytest

from tests.support.events import create_event, organiser, upload
from tests.support.factors import publish_library

EVENT_SOURCES_OF_FACTORS = {
    "accommodation",
    "electricity",
    "food",
    "fuel",
    "heat",
    "material",
    "meal",
    "transport",
    "waste",
}
HEADER = "key,category,activity,unit,value,region,year,source,source_url,note\n"


@pytest.fixture
def library(app):
    return publish_library()


@pytest.fixture
def org(client, library):
    return organiser(client, "organiser-code", "海峡会展中心")


def _publish(client, org, rows: str, name: str = "update.csv"):
    published = client.post(
        "/api/v1/admin/factor-sets",
        data={"file": (io.BytesIO((HEADER + rows).encode()), name), "note": "test update"},
        headers=org["admin"],
        content_type="multipart/form-data",
    )
    assert published.status_code == 201, published.json
    return published.json["version"]


def test_the_event_factors_are_the_librarys_with_their_sources(client, library):
    response = client.get("/api/v1/event-factors")
    assert response.status_code == 200
    factors = {f["key"]: f for f in response.json}
    assert {f["factor_set_version"] for f in response.json} == {library.version}
    assert {f["category"] for f in response.json} == EVENT_SOURCES_OF_FACTORS
    # Savings, conversions and benchmarks are not event emission factors.
    assert not [k for k in factors if k.startswith(("saving.", "flight.", "density.", "benchmark."))]
    assert factors["food.beef"]["source_kind"] == "catering" and "Poore" in factors["food.beef"]["source"]
    east = factors["electricity.grid.east"]
    assert (east["kg_per_unit"], east["activity_unit"], east["year"]) == ("0.5500", "kWh", 2023)
    assert east["source_kind"] == "venue_electricity" and "Ministry of Ecology" in east["source"]
    # 30.48 gCO2/pkm in the library is 0.03048 kg per passenger-km here, exactly.
    hsr = factors["transport.rail.high_speed"]
    assert (hsr["kg_per_unit"], hsr["activity_unit"], hsr["source_kind"]) == ("0.03048", "pkm", "travel")
    assert "Mao Baohua" in hsr["source"]
    assert factors["fuel.diesel"]["source_kind"] == "vehicles"
    assert factors["fuel.natural_gas"]["source_kind"] == "venue_fuel"
    # 0.11 tCO2/GJ of purchased heat is 110 kg per GJ.
    heat = factors["heat.purchased"]
    assert (heat["kg_per_unit"], heat["activity_unit"], heat["source_kind"]) == ("110.00", "GJ", "venue_heat")


def test_without_a_published_factor_set_no_event_is_planned(client):
    org = organiser(client, "organiser-code", "海峡会展中心")
    response = client.post(
        f"/api/v1/organisations/{org['organisation_id']}/events",
        json={"name": "x", "start_date": "2026-01-01", "end_date": "2026-01-01", "venue_city": "福州"},
        headers=org["headers"],
    )
    assert response.status_code == 409 and "factor set" in response.json["message"]
    assert client.get("/api/v1/event-factors").status_code == 409


def test_a_saved_source_keeps_its_factor_after_a_new_publication(client, org, library):
    event = create_event(client, org)
    url = f"/api/v1/events/{event['id']}"
    source = {"phase": "estimate", "kind": "venue_electricity", "activity": "1000"}
    first = client.post(
        f"{url}/sources", json={**source, "factor_key": "electricity.grid.east"}, headers=org["headers"]
    )
    # 1,000 kWh × 0.5500 kg = 550,000 g
    assert first.status_code == 201 and first.json["grams"] == 550_000
    assert first.json["factor_set_version"] == library.version

    later = _publish(
        client,
        org,
        "electricity.grid.east,electricity,grid electricity East China,kgCO2/kWh,0.5000,East China grid,"
        "2024,test input: a later announcement,,\n",
    )
    assert later == library.version + 1
    second = client.post(
        f"{url}/sources", json={**source, "factor_key": "electricity.grid.east"}, headers=org["headers"]
    )
    # 1,000 kWh × 0.5000 kg = 500,000 g under the new version
    assert second.json["grams"] == 500_000 and second.json["factor_set_version"] == later

    detail = client.get(url, headers=org["headers"]).json
    saved = {s["id"]: s for s in detail["sources"]}
    assert saved[first.json["id"]]["grams"] == 550_000
    assert saved[first.json["id"]]["factor_set_version"] == library.version
    assert saved[first.json["id"]]["factor_source"] == first.json["factor_source"]
    assert detail["totals"]["estimate"] == 1_050_000

    custom = client.post(
        f"{url}/sources",
        json={
            **source,
            "factor_key": "custom",
            "factor_kg_per_unit": "0.6",
            "activity_unit": "kWh",
            "factor_source": "test input: an organiser-supplied factor with its citation",
        },
        headers=org["headers"],
    )
    assert custom.status_code == 201 and custom.json["factor_set_version"] is None

    unknown = client.post(
        f"{url}/sources", json={**source, "factor_key": "saving.shenzhen.metro"}, headers=org["headers"]
    )
    assert unknown.status_code == 422 and "factor_key" in unknown.json["errors"]


def test_purchased_heat_uses_the_librarys_default_factor(client, org, library):
    event = create_event(client, org)
    body = {"phase": "actual", "kind": "venue_heat", "activity": "12.5", "factor_key": "heat.purchased"}
    heat = client.post(f"/api/v1/events/{event['id']}/sources", json=body, headers=org["headers"])
    # 12.5 GJ × 110 kg = 1,375,000 g
    assert heat.status_code == 201, heat.json
    assert (heat.json["grams"], heat.json["activity_unit"]) == (1_375_000, "GJ")
    assert "purchased heat" in heat.json["factor_source"]


def test_hotel_nights_use_the_librarys_hotel_stay_factor(client, org, library):
    event = create_event(client, org)
    body = {
        "phase": "actual",
        "kind": "accommodation",
        "activity": "120",
        "factor_key": "accommodation.hotel.china",
    }
    nights = client.post(f"/api/v1/events/{event['id']}/sources", json=body, headers=org["headers"])
    # 120 room-nights × 53.5 kg = 6,420,000 g
    assert nights.status_code == 201, nights.json
    assert (nights.json["grams"], nights.json["activity_unit"]) == (6_420_000, "room-night")
    assert "DESNZ" in nights.json["factor_source"] and "Hotel stay" in nights.json["factor_source"]
    wrong_kind = client.post(
        f"/api/v1/events/{event['id']}/sources", json={**body, "kind": "materials"}, headers=org["headers"]
    )
    assert wrong_kind.status_code == 422


def test_meals_materials_and_waste_use_the_librarys_factors_to_the_gram(client, org, library):
    event = create_event(client, org)
    url, headers = f"/api/v1/events/{event['id']}/sources", org["headers"]
    rows = [
        ("catering", "350", "meal.vegetarian", 178_500),  # 350 meals × 0.51 kg
        ("catering", "120", "meal.beef", 871_200),  # 120 meals × 7.26 kg
        ("materials", "850", "material.paper", 1_143_316),  # 850 kg × 1,345.0779 g = 1,143,316.215 g
        ("materials", "126", "material.plastics", 399_735),  # 126 kg × 3,172.49932 g = 399,734.914 g
        ("waste", "1700", "waste.landfill.commercial", 884_906),  # 1,700 kg × 520.5327 g = 884,905.59 g
        ("waste", "2300", "waste.incineration.commercial", 10_777),  # 2,300 kg × 4.68568 g = 10,777.064 g
    ]
    for kind, activity, key, grams in rows:
        body = {"phase": "actual", "kind": kind, "activity": activity, "factor_key": key}
        source = client.post(url, json=body, headers=headers)
        assert source.status_code == 201, source.json
        assert source.json["grams"] == grams, key
    paper = client.post(
        url,
        json={"phase": "actual", "kind": "waste", "activity": "1", "factor_key": "material.paper"},
        headers=headers,
    )
    assert paper.status_code == 422  # a material factor does not quantify waste
    totals = client.get(f"/api/v1/events/{event['id']}", headers=headers).json
    assert totals["totals"]["actual"] == sum(grams for *_, grams in rows)


def test_catering_counts_the_food_bought_with_the_librarys_food_factors(client, org, library):
    event = create_event(client, org)
    body = {"phase": "actual", "kind": "catering", "activity": "40", "factor_key": "food.poultry"}
    meals = client.post(f"/api/v1/events/{event['id']}/sources", json=body, headers=org["headers"])
    # 40 kg of poultry × 9.87 kg = 394,800 g
    assert meals.status_code == 201, meals.json
    assert (meals.json["grams"], meals.json["activity_unit"]) == (394_800, "kg")
    wrong_kind = client.post(
        f"/api/v1/events/{event['id']}/sources", json={**body, "kind": "waste"}, headers=org["headers"]
    )
    assert wrong_kind.status_code == 422


def test_a_travel_mode_needs_a_cited_row_in_the_current_set(client, org):
    event = create_event(client, org)
    bus = "name,origin_city,mode,return\n甲,厦门,bus,no\n"
    refused = upload(client, org, event["id"], bus)
    assert refused.status_code == 422
    (fault,) = refused.json["errors"]
    assert (fault["row"], fault["line"], fault["field"], fault["value"]) == (1, 2, "mode", "bus")
    assert fault["message"].startswith("No cited emission factor for mode 'bus' in factor set version")

    version = _publish(
        client,
        org,
        "transport.bus.intercity,transport,intercity coach,gCO2/pkm,40,national,,"
        "test input: not a published factor,,\n",
    )
    accepted = upload(client, org, event["id"], bus)
    # Xiamen → Fuzhou 214.6 km × 40 g = 8,584 g
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["grams"] == 8_584
    (source,) = client.get(f"/api/v1/events/{event['id']}", headers=org["headers"]).json["sources"]
    assert (source["factor_key"], source["factor_set_version"]) == ("transport.bus.intercity", version)


RAIL_AND_COACH = (
    "name,origin_city,mode,return\n甲,厦门,rail,no\n乙,三明,Rail,yes\n丙,厦门,bus,yes\n丁,厦门,hsr,no\n"
)


def test_an_attendee_list_with_rail_and_coach_is_computed_with_their_cited_factors(client, org):
    event = create_event(client, org)
    # The shipped library has no cited figure for either mode: those rows are rejected, each named
    # with the mode as written and the modes accepted; the high-speed-rail row is kept.
    partial = upload(client, org, event["id"], RAIL_AND_COACH)
    assert partial.status_code == 200, partial.json
    rejected = partial.json["rejected"]
    assert [(f["row"], f["line"], f["field"], f["value"]) for f in rejected] == [
        (1, 2, "mode", "rail"),
        (2, 3, "mode", "Rail"),
        (3, 4, "mode", "bus"),
    ]
    assert all(f["accepted"] == ["car", "flight", "hsr", "metro"] for f in rejected)
    assert "No cited emission factor for mode 'Rail'" in rejected[1]["message"]
    assert (partial.json["attendees"], partial.json["rejected_rows"]) == (1, 3)

    rail_source = "test input: conventional rail, not a published factor"
    coach_source = "test input: intercity coach, not a published factor"
    version = _publish(
        client,
        org,
        f'transport.rail.conventional,transport,conventional rail,gCO2/pkm,25,national,,"{rail_source}",,\n'
        f'transport.bus.intercity,transport,intercity coach,kgCO2/pkm,0.04,national,,"{coach_source}",,\n',
    )
    factors = {f["key"]: f for f in client.get("/api/v1/event-factors").json}
    assert factors["transport.rail.conventional"]["kg_per_unit"] == "0.025"
    assert factors["transport.bus.intercity"]["source"] == coach_source

    # Only the rejected rows are sent again, added to the list: it is complete.
    rows = RAIL_AND_COACH.splitlines()
    again = "\n".join(rows[0:4]) + "\n"
    accepted = upload(client, org, event["id"], again, append=True)
    assert accepted.status_code == 200, accepted.json
    assert (accepted.json["added"], accepted.json["rejected"]) == (3, [])
    # To Fuzhou: Xiamen 214.6 km, Sanming 167.0 km (doubled for a return trip).
    # rail: (214.6 + 334.0) pkm × 25 g = 13,715 g; bus: 429.2 pkm × 40 g = 17,168 g;
    # hsr: 214.6 pkm × 30.48 g = 6,541.008 → 6,541 g.
    assert accepted.json["attendees"] == 4 and accepted.json["grams"] == 13_715 + 17_168 + 6_541
    detail = client.get(f"/api/v1/events/{event['id']}", headers=org["headers"]).json
    sources = {s["factor_key"]: s for s in detail["sources"]}
    assert set(sources) == {
        "transport.rail.conventional",
        "transport.bus.intercity",
        "transport.rail.high_speed",
    }
    rail, bus = sources["transport.rail.conventional"], sources["transport.bus.intercity"]
    assert (rail["activity"], rail["grams"], rail["factor_source"]) == ("548.6000", 13_715, rail_source)
    assert (bus["activity"], bus["grams"], bus["factor_source"]) == ("429.2000", 17_168, coach_source)
    assert {s["factor_set_version"] for s in sources.values()} == {version}


def test_cities_come_from_the_library_city_table(client, org):
    created = client.post(
        f"/api/v1/organisations/{org['organisation_id']}/events",
        json={"name": "x", "start_date": "2026-01-01", "end_date": "2026-01-01", "venue_city": "顺昌县"},
        headers=org["headers"],
    )
    assert created.status_code == 201, created.json
    listed = upload(client, org, created.json["event"]["id"], "origin_city,mode,return\nLishui,car,yes\n")
    assert listed.status_code == 200, listed.json
    (group,) = client.get(f"/api/v1/events/{created.json['event']['id']}", headers=org["headers"]).json[
        "travel"
    ]
    # Shunchang (26.79, 117.81) ↔ Lishui (28.45, 119.92): 277.994 → 278.0 km great circle (a cross-check by the
    # law of cosines gives the same to 0.1 km), doubled for the return trip.
    assert group["origin_city"] == "lishui" and group["distance_km"] == "278.0"
    assert group["passenger_km"] == "556.0"
