"""The public catalogue: filters, pagination, availability, batch serials, and prices that are exactly
what an order charges."""

from __future__ import annotations

import json

import pytest

from models import OwnerKind
from services.pool import batch_import, catalogue_admin

HEADER = "project_code,vintage,serial_prefix,serial_start,serial_end,quantity_t,issued_on,registry_ref,registry_url"


@pytest.fixture
def pool(app):
    """Two Shunchang FFCER projects (a farmer's at ¥100/t, a collective's), one Sanming ticket project."""
    catalogue_admin.create_kind(None, {"code": "FFCER", "name": "FFCER", "price_fen_per_t": 2500})
    catalogue_admin.create_kind(None, {"code": "SMCER", "name": "三明林业碳票", "price_fen_per_t": 1500})
    farmer = catalogue_admin.create_owner(
        None, {"name": "林农陈某", "kind": OwnerKind.FOREST_FARMER, "county": "顺昌县"}
    )
    village = catalogue_admin.create_owner(
        None, {"name": "某村村集体", "kind": OwnerKind.VILLAGE_COLLECTIVE, "county": "顺昌县"}
    )
    ids = {}
    for code, kind, county, owner, price in [
        ("SC-1", "FFCER", "顺昌县", farmer.id, 10000),
        ("SC-2", "FFCER", "顺昌县", village.id, None),
        ("SM-1", "SMCER", "沙县区", None, None),
    ]:
        project = catalogue_admin.create_project(
            None,
            {"code": code, "name": code, "kind_code": kind, "county": county, "owner_id": owner}
            | ({"price_fen_per_t": price} if price is not None else {}),
        )
        ids[code] = project.id
    rows = [
        "SC-1,2020,FFCER-01-,1,1200,1200,2021-05-20,FFCER-2021-011,https://registry.example/11",
        "SC-1,2021,FFCER-01-,1201,2600,1400,2022-06-28,FFCER-2022-027,",
        "SM-1,2021,SMCER-SX-,1,3600,3600,2021-07-01,SMCER-2021-0006,",
    ]
    batch_import.import_batches("\n".join([HEADER, *rows]), "csv", actor_id=None)
    ids["farmer"] = farmer.id
    ids["village"] = village.id
    return ids


def codes(response) -> list[str]:
    return [project["code"] for project in response.json]


def test_projects_show_availability_prices_and_the_one_yuan_unit(client, pool):
    response = client.get("/api/v1/catalogue/projects")

    assert response.status_code == 200
    by_code = {p["code"]: p for p in response.json}
    farmer = by_code["SC-1"]
    assert farmer["available_g"] == 2_600_000_000
    assert farmer["available_t"] == 2600
    assert (farmer["price_fen_per_t"], farmer["unit_g"], farmer["unit_price_fen"]) == (10000, 10_000, 100)
    assert farmer["products"] == [
        {
            "product": "one_yuan",
            "unit_g": 10_000,
            "price_fen_per_unit": 100,
            "min_g": 10_000,
            "max_g": 10_000_000,
        },
        {
            "product": "credits",
            "unit_g": 1_000_000,
            "price_fen_per_unit": 10_000,
            "min_g": 1_000,
            "max_g": 100_000_000_000,
        },
    ]
    assert farmer["owner"] == {
        "id": pool["farmer"],
        "name": "林农陈某",
        "kind": "forest_farmer",
        "county": "顺昌县",
    }
    assert farmer["kind"] == {"code": "FFCER", "name": "FFCER"}
    assert by_code["SC-2"]["available_g"] == 0  # no batch yet
    assert by_code["SC-2"]["price_fen_per_t"] == 2500  # the kind's price
    # One-yuan carbon sink is ¥1 per 10 kg whatever the project: a ¥15/t ticket project too.
    assert by_code["SM-1"]["unit_price_fen"] == 100
    assert [(p["product"], p["price_fen_per_unit"]) for p in by_code["SM-1"]["products"]] == [
        ("one_yuan", 100),
        ("credits", 1_500),
    ]
    assert by_code["SM-1"]["owner"] is None


def test_projects_filter_by_kind_county_and_owner(client, pool):
    assert codes(client.get("/api/v1/catalogue/projects?kind=SMCER")) == ["SM-1"]
    assert codes(client.get("/api/v1/catalogue/projects?county=顺昌县")) == ["SC-1", "SC-2"]
    assert codes(client.get(f"/api/v1/catalogue/projects?owner_id={pool['village']}")) == ["SC-2"]
    assert codes(client.get("/api/v1/catalogue/projects?kind=FFCER&county=沙县区")) == []


def test_projects_are_paginated(client, pool):
    first = client.get("/api/v1/catalogue/projects?page=1&page_size=2")
    second = client.get("/api/v1/catalogue/projects?page=2&page_size=2")

    assert codes(first) == ["SC-1", "SC-2"]
    assert codes(second) == ["SM-1"]
    pagination = json.loads(first.headers["X-Pagination"])
    assert (pagination["total"], pagination["total_pages"], pagination["next_page"]) == (3, 2, 2)
    assert client.get("/api/v1/catalogue/projects?page_size=0").status_code == 422


def test_project_detail_lists_batches_with_registry_serials(client, pool):
    response = client.get(f"/api/v1/catalogue/projects/{pool['SC-1']}")

    assert response.status_code == 200
    first, second = response.json["batches"]
    assert (first["first_serial"], first["last_serial"]) == ("FFCER-01-0000001", "FFCER-01-0001200")
    assert (second["first_serial"], second["last_serial"]) == ("FFCER-01-0001201", "FFCER-01-0002600")
    assert (first["vintage"], first["issued_t"], first["available_t"]) == (2020, 1200, 1200)
    assert first["registry_ref"] == "FFCER-2021-011"
    assert first["registry_url"] == "https://registry.example/11"
    assert first["issued_on"] == "2021-05-20"


def test_unknown_project_is_a_404_in_the_error_format(client, pool):
    response = client.get("/api/v1/catalogue/projects/999")

    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_owners_filter_by_county_and_kind_with_their_stock(client, pool):
    farmers = client.get("/api/v1/catalogue/owners?county=顺昌县&kind=forest_farmer")
    everyone = client.get("/api/v1/catalogue/owners?page_size=1")

    assert [(o["name"], o["projects"], o["available_t"]) for o in farmers.json] == [("林农陈某", 1, 2600)]
    assert json.loads(everyone.headers["X-Pagination"])["total"] == 2
    assert client.get("/api/v1/catalogue/owners?kind=alien").status_code == 422


def test_kinds_are_listed_with_their_prices(client, pool):
    response = client.get("/api/v1/catalogue/kinds")

    assert [(k["code"], k["price_fen_per_t"]) for k in response.json] == [("FFCER", 2500), ("SMCER", 1500)]


@pytest.mark.parametrize("app_overrides", [{"ONE_YUAN_UNIT_G": 3_333, "ONE_YUAN_UNIT_PRICE_FEN": 50}])
def test_the_one_yuan_unit_follows_the_settings_whatever_the_project(client, pool, app_overrides):
    by_code = {p["code"]: p for p in client.get("/api/v1/catalogue/projects").json}

    assert (by_code["SC-1"]["unit_g"], by_code["SC-1"]["unit_price_fen"]) == (3_333, 50)
    assert by_code["SM-1"]["unit_price_fen"] == 50
    one_yuan = client.get("/api/v1/catalogue/one-yuan").json
    assert one_yuan == {
        "product": "one_yuan",
        "unit_g": 3_333,
        "price_fen_per_unit": 50,
        "min_g": 3_333,
        "max_g": 3_333_000,
        "kinds": ["FFCER", "SMCER"],
        "max_units": 1_000,
    }


def test_a_project_outside_the_one_yuan_kinds_sells_credits_only(client, pool):
    catalogue_admin.create_kind(None, {"code": "CCER", "name": "CCER", "price_fen_per_t": 5300})
    catalogue_admin.create_project(None, {"code": "CC-1", "name": "CC-1", "kind_code": "CCER"})
    by_code = {p["code"]: p for p in client.get("/api/v1/catalogue/projects").json}

    assert by_code["CC-1"]["unit_price_fen"] is None
    assert [p["product"] for p in by_code["CC-1"]["products"]] == ["credits"]


@pytest.mark.postgres
def test_catalogue_on_postgres(pg_client, pg_app):
    catalogue_admin.create_kind(None, {"code": "FFCER", "name": "FFCER", "price_fen_per_t": 2500})
    owner = catalogue_admin.create_owner(None, {"name": "林农", "kind": OwnerKind.FOREST_FARMER})
    catalogue_admin.create_project(
        None, {"code": "SC-1", "name": "x", "kind_code": "FFCER", "owner_id": owner.id}
    )
    batch_import.import_batches(HEADER + "\nSC-1,2021,F-,1,7,7,2022-01-01,R,\n", "csv", actor_id=None)

    projects = pg_client.get("/api/v1/catalogue/projects").json
    owners = pg_client.get("/api/v1/catalogue/owners").json

    assert projects[0]["available_g"] == 7_000_000
    assert owners[0]["available_g"] == 7_000_000
