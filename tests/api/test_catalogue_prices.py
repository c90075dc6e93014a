"""One price source: for every project and product in the catalogue, an order charges exactly the
price the catalogue shows."""

from __future__ import annotations

import pytest

from services.pool import batch_import, catalogue_admin
from tests.support.accounts import bearer, login_user

# One buyer places every order of the check and pays none: some twenty unpaid orders, over 4 t.
MANY_UNPAID = {"MAX_OPEN_ORDERS_PER_USER": 100, "MAX_RESERVED_GRAMS_PER_USER": 100_000_000}

HEADER = "project_code,vintage,serial_prefix,serial_start,serial_end,quantity_t,issued_on,registry_ref,registry_url"


@pytest.fixture
def app_overrides():
    return MANY_UNPAID


def _priced_pool() -> None:
    """Projects at their own price, at their kind's, at an odd price that rounds, and outside one-yuan."""
    for code, price in (("FFCER", 2_500), ("SMCER", 1_500), ("CCER", 5_300)):
        catalogue_admin.create_kind(None, {"code": code, "name": code, "price_fen_per_t": price})
    for code, kind, price in (
        ("SC-1", "FFCER", 10_000),
        ("SC-2", "FFCER", None),
        ("SM-1", "SMCER", 1_234),
        ("CC-1", "CCER", None),
    ):
        catalogue_admin.create_project(
            None,
            {"code": code, "name": code, "kind_code": kind}
            | ({"price_fen_per_t": price} if price is not None else {}),
        )
    rows = [
        f"{code},2021,{code}-,1,100,100,2022-01-01,R-{code}," for code in ("SC-1", "SC-2", "SM-1", "CC-1")
    ]
    batch_import.import_batches("\n".join([HEADER, *rows]), "csv", actor_id=None)


def _all_projects(client) -> list[dict]:
    projects, page = [], 1
    while True:
        response = client.get("/api/v1/catalogue/projects", query_string={"page": page, "page_size": 2})
        assert response.status_code == 200
        projects += response.json
        if not response.json or len(response.json) < 2:
            return projects
        page += 1


def _charged(client, headers, body: dict) -> int:
    placed = client.post("/api/v1/orders", json=body, headers=headers)
    assert placed.status_code == 201, (body, placed.json)
    return placed.json["order"]["amount_fen"]


def _catalogue_price(product: dict, grams: int) -> int:
    """The rule the catalogue states: ceil(grams × price_fen_per_unit / unit_g) fen."""
    return -(-grams * product["price_fen_per_unit"] // product["unit_g"])


def _orders_charge_the_catalogue_price(client) -> int:
    _priced_pool()
    headers = bearer(login_user(client, "price-checker")[0])
    checked = 0
    for project in _all_projects(client):
        assert project["products"], project["code"]
        for product in project["products"]:
            if product["product"] == "one_yuan":
                assert project["unit_price_fen"] == product["price_fen_per_unit"]
                for units in (1, 7):
                    grams = units * product["unit_g"]
                    body = {"product": "one_yuan", "units": units, "project_id": project["id"]}
                    charged = _charged(client, headers, body)
                    assert (
                        charged == _catalogue_price(product, grams) == units * product["price_fen_per_unit"]
                    )
                    checked += 1
            else:
                assert product["price_fen_per_unit"] == project["price_fen_per_t"]
                for grams in (product["min_g"], 12_345, 1_000_001):
                    body = {"product": "credits", "grams": grams, "project_id": project["id"]}
                    assert _charged(client, headers, body) == _catalogue_price(product, grams), (
                        project,
                        grams,
                    )
                    checked += 1
        if not any(p["product"] == "one_yuan" for p in project["products"]):
            assert project["unit_price_fen"] is None
    one_yuan = client.get("/api/v1/catalogue/one-yuan").json
    for units in (1, 3):
        charged = _charged(client, headers, {"product": "one_yuan", "units": units})
        assert charged == _catalogue_price(one_yuan, units * one_yuan["unit_g"])
    return checked


def test_every_project_and_product_charges_what_the_catalogue_shows(client):
    # SC-1, SC-2 and SM-1: one-yuan twice and credits three times; CC-1: credits only.
    assert _orders_charge_the_catalogue_price(client) == 3 * (2 + 3) + 3


@pytest.mark.parametrize(
    "app_overrides", [{**MANY_UNPAID, "ONE_YUAN_UNIT_G": 3_333, "ONE_YUAN_UNIT_PRICE_FEN": 7}]
)
def test_the_catalogue_follows_the_one_yuan_settings(client, app_overrides):
    assert _orders_charge_the_catalogue_price(client) == 18


@pytest.mark.postgres
def test_every_project_and_product_charges_what_the_catalogue_shows_on_postgres(pg_client):
    assert _orders_charge_the_catalogue_price(pg_client) == 18
