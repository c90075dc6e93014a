"""The footprint calculator through HTTP: calculate and keep, history, trend, isolation, one-tap offset."""

from __future__ import annotations

import io
import json

import pytest

from models import AuditEntry, Project
from models.database import unit_of_work
from tests.support.accounts import bearer, login_admin, login_user
from tests.support.factors import publish_library
from tests.support.pool import stock_pool

MONTH = {
    "period_type": "month",
    "period_start": "2026-10-15",
    "province": "福建",
    # 230 kWh × 0.5500 kg = 126,500 g; 12 m3 × 2.1622 kg = 25,946.4 → 25,946 g
    "home": {"electricity_kwh": 230, "natural_gas_m3": "12"},
    # 40 L × 0.7475 kg/L × 2.9251 kg = 87,460.49 → 87,460 g; 600 km × 30.48 g = 18,288 g
    "transport": {"fuel": [{"fuel": "gasoline", "amount": 40}], "high_speed_rail_km": 600},
    # 0.5 kg × 99.48 kg = 49,740 g
    "diet": {"food": [{"item": "beef", "kg": "0.5"}]},
}
MONTH_TOTAL = 126_500 + 25_946 + 87_460 + 18_288 + 49_740  # = 307,934 g → 31 units


@pytest.fixture
def library(app):
    return publish_library()


@pytest.fixture
def user(client, library):
    token, _ = login_user(client, "footprint-user")
    return bearer(token)


def calculate(client, headers, body=MONTH):
    return client.post("/api/v1/footprints/calculate", json=body, headers=headers)


def test_calculate_returns_and_keeps_the_breakdown(client, user, library):
    response = calculate(client, user)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["total_g"] == MONTH_TOTAL == 307_934
    assert body["period_type"] == "month" and body["period_start"] == "2026-10-01"
    assert body["factor_set_version"] == library.version
    assert body["place"] == {"province": "fujian", "grid_region": "east", "from": "form"}
    home, transport, diet = body["categories"]
    assert [i["grams"] for i in home["items"]] == [126_500, 25_946]
    assert home["items"][0]["factor_key"] == "electricity.grid.east"
    assert home["items"][0]["factor_value"] == "0.5500"
    assert "2023" in home["items"][0]["source"]
    assert home["total_g"] + transport["total_g"] + diet["total_g"] == body["total_g"]
    # ceil(307,934 / 10,000) = 31 units, ¥31
    assert body["offset"] == {"units": 31, "unit_g": 10_000, "grams": 310_000, "price_fen": 3_100}
    # 307,934 × 100 / 566,667 = 54.34… %
    assert body["comparison"]["percent_of_national"] == "54.3"

    kept = client.get(f"/api/v1/me/footprints/{body['id']}", headers=user)
    assert kept.status_code == 200
    assert kept.json["categories"] == body["categories"]
    assert kept.json["inputs"]["home"] == {"electricity_kwh": "230", "natural_gas_m3": "12"}


def test_history_is_paginated_newest_first(client, user):
    ids = [calculate(client, user).json["id"] for _ in range(3)]
    page = client.get("/api/v1/me/footprints?page=1&page_size=2", headers=user)
    assert page.status_code == 200
    assert [f["id"] for f in page.json] == ids[::-1][:2]
    assert json.loads(page.headers["X-Pagination"])["total"] == 3


def test_trend_counts_the_latest_calculation_of_each_period(client, user):
    calculate(client, user, {**MONTH, "period_start": "2026-08-01", "home": {"electricity_kwh": 100}})
    calculate(client, user, {**MONTH, "period_start": "2026-09-01", "home": {"electricity_kwh": 100}})
    # recalculated September: 200 kWh × 0.5500 = 110,000 g, plus the rest of MONTH without home
    latest = calculate(
        client, user, {**MONTH, "period_start": "2026-09-20", "home": {"electricity_kwh": 200}}
    )
    calculate(client, user, {**MONTH, "period_type": "year", "period_start": "2026-03-01"})
    trend = client.get("/api/v1/me/footprints/trend?period_type=month", headers=user)
    assert trend.status_code == 200
    rest = MONTH_TOTAL - 126_500 - 25_946
    assert [(p["period_start"], p["total_g"]) for p in trend.json] == [
        ("2026-08-01", 55_000 + rest),
        ("2026-09-01", 110_000 + rest),
    ]
    assert trend.json[-1]["footprint_id"] == latest.json["id"]
    years = client.get("/api/v1/me/footprints/trend?period_type=year", headers=user).json
    assert [p["period_start"] for p in years] == ["2026-01-01"]


def test_another_users_footprint_is_not_found(client, user):
    mine = calculate(client, user).json["id"]
    token, _ = login_user(client, "someone-else")
    other = bearer(token)
    assert client.get(f"/api/v1/me/footprints/{mine}", headers=other).status_code == 404
    assert client.post(f"/api/v1/me/footprints/{mine}/offset", headers=other).status_code == 404
    assert client.get("/api/v1/me/footprints", headers=other).json == []


def test_login_is_required(client, library):
    assert client.post("/api/v1/footprints/calculate", json=MONTH).status_code == 401
    assert client.get("/api/v1/me/footprints").status_code == 401


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"home": {"electricity_kwh": -5}}, ["home", "electricity_kwh"]),
        ({"home": {"electricity_kwh": 10**9}}, ["home", "electricity_kwh"]),
        ({"home": {"electricity_kwh": "lots"}}, ["home", "electricity_kwh"]),
        (
            {"transport": {"flights": [{"from": "fuzhou", "to": "nowhere"}]}},
            ["transport", "flights", "0", "to"],
        ),
        ({"transport": {"fuel": [{"fuel": "jet", "amount": 3}]}}, ["transport", "fuel", "0", "fuel"]),
        (
            {"transport": {"fuel": [{"fuel": "diesel", "amount": 3, "unit": "barrel"}]}},
            ["transport", "fuel", "0", "unit"],
        ),
        ({"diet": {"food": [{"item": "dragon", "kg": 1}]}}, ["diet", "food", "0", "item"]),
        ({"province": "Narnia"}, ["province"]),
        ({"period_type": "week"}, ["period_type"]),
        ({"home": {"coal_kg": 3}}, ["home", "coal_kg"]),
    ],
)
def test_bad_inputs_are_422_naming_the_field(client, user, body, path):
    response = calculate(client, user, body)
    assert response.status_code == 422, response.json
    node = response.json["errors"]["json"]
    for part in path:
        node = node[part]
    assert node
    assert client.get("/api/v1/me/footprints", headers=user).json == []


def test_profile_city_picks_the_grid_when_the_form_names_no_place(client, user):
    client.patch("/api/v1/me", json={"city": "成都"}, headers=user)
    body = calculate(client, user, {"home": {"electricity_kwh": 100}}).json
    # Chengdu → Sichuan → Southwest grid: 100 × 0.2472 kg = 24,720 g
    assert body["categories"][0]["items"][0]["factor_key"] == "electricity.grid.southwest"
    assert body["total_g"] == 24_720
    assert body["place"] == {"province": "sichuan", "grid_region": "southwest", "from": "profile"}


def test_without_a_published_factor_set_the_calculator_says_so(client):
    token, _ = login_user(client, "early-user")
    response = calculate(client, bearer(token))
    assert response.status_code == 409
    assert "factor" in response.json["message"]


def test_old_footprints_keep_their_version_after_a_new_one_is_published(client, user, library):
    old = calculate(client, user).json
    admin, _ = login_admin(client)
    cheaper_grid = (
        "key,category,activity,unit,value,region,year,source,source_url,note\n"
        "electricity.grid.east,electricity,grid electricity East China,kgCO2/kWh,0.5000,East China grid,2024,"
        "A later announcement,,\n"
    )
    published = client.post(
        "/api/v1/admin/factor-sets",
        data={"file": (io.BytesIO(cheaper_grid.encode()), "east.csv"), "note": "2024 East China factor"},
        headers=bearer(admin),
        content_type="multipart/form-data",
    )
    assert published.status_code == 201, published.json
    assert published.json["version"] == library.version + 1
    assert published.json["factor_count"] == library.factor_count

    again = client.get(f"/api/v1/me/footprints/{old['id']}", headers=user).json
    assert again["factor_set_version"] == library.version
    assert again["total_g"] == old["total_g"] and again["categories"] == old["categories"]

    new = calculate(client, user).json
    assert new["factor_set_version"] == library.version + 1
    # electricity now 230 × 0.5000 kg = 115,000 g instead of 126,500 g
    assert new["total_g"] == old["total_g"] - 126_500 + 115_000


def test_one_tap_offset_places_a_one_yuan_order_for_the_footprint(client, user):
    stock_pool()
    footprint = calculate(client, user).json
    response = client.post(
        f"/api/v1/me/footprints/{footprint['id']}/offset", headers={**user, "Idempotency-Key": "fp-1"}
    )
    assert response.status_code == 201, response.json
    order = response.json["order"]
    assert order["channel"] == "footprint_offset"
    assert order["units"] == 31 and order["grams"] == 310_000 and order["amount_fen"] == 3_100
    assert order["status"] == "awaiting_payment"
    assert set(response.json["request_payment"]) >= {"paySign", "package"}

    again = client.post(
        f"/api/v1/me/footprints/{footprint['id']}/offset", headers={**user, "Idempotency-Key": "fp-1"}
    )
    assert again.status_code == 201
    assert again.json["order"]["out_trade_no"] == order["out_trade_no"]

    other = calculate(client, user, {"home": {"electricity_kwh": 10}}).json
    reused = client.post(
        f"/api/v1/me/footprints/{other['id']}/offset", headers={**user, "Idempotency-Key": "fp-1"}
    )
    assert reused.status_code == 422

    paid = client.post(f"/api/v1/sandbox/orders/{order['out_trade_no']}/pay", headers=user)
    assert paid.status_code == 200 and paid.json["status"] == "fulfilled"
    certificates = client.get("/api/v1/me/certificates", headers=user).json
    assert [c["grams"] for c in certificates] == [310_000]


def test_a_zero_footprint_has_nothing_to_offset(client, user):
    stock_pool()
    footprint = calculate(client, user, {"home": {"electricity_kwh": 0}}).json
    assert footprint["total_g"] == 0 and footprint["offset"]["units"] == 0
    response = client.post(f"/api/v1/me/footprints/{footprint['id']}/offset", headers=user)
    assert response.status_code == 422


def _offset(client, headers, footprint_id, body=None, key=None):
    headers = {**headers, "Idempotency-Key": key} if key else headers
    return client.post(f"/api/v1/me/footprints/{footprint_id}/offset", json=body, headers=headers)


def test_the_one_tap_offset_puts_my_name_on_the_certificate(client, user):
    stock_pool()
    footprint = calculate(client, user).json
    response = _offset(client, user, footprint["id"], {"holder_name": "陈小林"}, key="fp-name")
    assert response.status_code == 201, response.json
    order = response.json["order"]
    assert order["holder_name"] == "陈小林"
    # The same key with another name is another request: refused, not replayed.
    assert _offset(client, user, footprint["id"], {"holder_name": "别人"}, key="fp-name").status_code == 422

    paid = client.post(f"/api/v1/sandbox/orders/{order['out_trade_no']}/pay", headers=user)
    assert paid.status_code == 200 and paid.json["status"] == "fulfilled"
    (certificate,) = client.get("/api/v1/me/certificates", headers=user).json
    assert certificate["holder_name"] == "陈小林"


def test_the_one_tap_offset_sells_from_the_chosen_project_and_owner(client, user):
    stock_pool(tonnes=1, code="SC-BAMBOO", owner="林农陈某")
    chosen, _ = stock_pool(tonnes=1, code="SC-FIR", owner="林农李某")
    with unit_of_work() as session:
        owner_id = session.get(Project, chosen).owner_id
    footprint = calculate(client, user).json

    by_project = _offset(client, user, footprint["id"], {"project_id": chosen}, key="fp-project")
    assert by_project.status_code == 201, by_project.json
    order = by_project.json["order"]
    assert order["project_id"] == chosen
    assert {line["project_id"] for line in order["lines"]} == {chosen}
    assert sum(line["grams"] for line in order["lines"]) == 310_000

    by_owner = _offset(client, user, footprint["id"], {"owner_id": owner_id}, key="fp-owner")
    assert by_owner.status_code == 201, by_owner.json
    assert by_owner.json["order"]["owner_id"] == owner_id
    assert {line["project_id"] for line in by_owner.json["order"]["lines"]} == {chosen}


def test_the_one_tap_offset_refuses_a_project_that_does_not_sell_one_yuan_sink(client, user):
    stock_pool()
    ccer, _ = stock_pool(tonnes=1, code="CCER-WIND", kind="CCER", owner=None)
    footprint = calculate(client, user).json

    not_one_yuan = _offset(client, user, footprint["id"], {"project_id": ccer})
    assert not_one_yuan.status_code == 422
    assert "project_id" in not_one_yuan.json["errors"]
    unknown = _offset(client, user, footprint["id"], {"project_id": 999_999})
    assert unknown.status_code == 404
    too_long = _offset(client, user, footprint["id"], {"holder_name": "名" * 33})
    assert too_long.status_code == 422
    assert client.get("/api/v1/orders", headers=user).json == []


def test_the_current_factors_are_public_with_their_sources(client, library):
    response = client.get("/api/v1/factors/current")
    assert response.status_code == 200
    body = response.json
    assert body["version"] == library.version and body["is_current"] is True
    factors = {f["key"]: f for f in body["factors"]}
    assert factors["electricity.grid.east"]["value"] == "0.5500"
    assert factors["electricity.grid.east"]["year"] == 2023
    assert all(f["source"] for f in body["factors"])
    assert {p["id"]: p["grid_region"] for p in body["provinces"]}["fujian"] == "east"
    assert {c["id"]: c["province"] for c in body["cities"]}["shunchang"] == "fujian"


def test_admin_lists_versions_and_factors_by_category(client, library):
    admin, _ = login_admin(client)
    versions = client.get("/api/v1/admin/factor-sets", headers=bearer(admin))
    assert versions.status_code == 200
    assert (
        versions.json[0]["version"] == library.version
        and versions.json[0]["factor_count"] == library.factor_count
    )
    page = client.get(
        f"/api/v1/admin/factor-sets/{library.version}/factors?category=electricity&page_size=3",
        headers=bearer(admin),
    )
    assert page.status_code == 200
    assert len(page.json) == 3 and {f["category"] for f in page.json} == {"electricity"}
    assert json.loads(page.headers["X-Pagination"])["total"] == 9
    missing = client.get("/api/v1/admin/factor-sets/999/factors", headers=bearer(admin))
    assert missing.status_code == 404


def test_only_admins_publish_and_publishing_is_audited(client, user, library):
    upload = {"file": (io.BytesIO(b"key,category,activity,unit,value,source\n"), "x.csv")}
    assert (
        client.post(
            "/api/v1/admin/factor-sets", data=upload, headers=user, content_type="multipart/form-data"
        ).status_code
        == 403
    )
    admin, admin_user = login_admin(client)
    body = json.dumps(
        {
            "note": "food only",
            "factors": [
                {
                    "key": "food.tofu_test",
                    "category": "food",
                    "activity": "test food",
                    "unit": "kgCO2e/kg",
                    "value": "1.5",
                    "source": "A cited source",
                }
            ],
        }
    ).encode()
    published = client.post(
        "/api/v1/admin/factor-sets",
        data={"file": (io.BytesIO(body), "food.json"), "mode": "merge"},
        headers=bearer(admin),
        content_type="multipart/form-data",
    )
    assert published.status_code == 201, published.json
    assert published.json["carried_over"] == ["provinces", "cities", "factors"]
    with unit_of_work() as session:
        entry = session.query(AuditEntry).filter_by(entity="factor_set", actor_id=admin_user["id"]).one()
        assert entry.action == "publish"
        assert entry.entity_id == str(published.json["version"])
        assert entry.before["version"] == library.version


def test_a_faulty_upload_names_row_and_field_and_publishes_nothing(client, library):
    admin, _ = login_admin(client)
    faulty = (
        "key,category,activity,unit,value,region,year,source,source_url,note\n"
        "food.a,food,a,kgCO2e/kg,-1,global,2020,cited,,\n"
        "food.b,food,b,furlongs,2,global,2020,cited,,\n"
        "food.c,food,c,kgCO2e/kg,3,global,2020,,,\n"
    )
    response = client.post(
        "/api/v1/admin/factor-sets",
        data={"file": (io.BytesIO(faulty.encode()), "bad.csv")},
        headers=bearer(admin),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    found = {(e["row"], e["field"]) for e in response.json["errors"]}
    assert found == {(1, "value"), (2, "unit"), (3, "source")}
    versions = client.get("/api/v1/admin/factor-sets", headers=bearer(admin)).json
    assert [v["version"] for v in versions] == [library.version]
