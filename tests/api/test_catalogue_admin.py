"""Admin management of credit kinds, owners, projects and prices; each write leaves an audit entry."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditEntry
from models.database import read_session

FFCER = {
    "code": "FFCER",
    "name": "福建林业碳汇减排量",
    "registry_name": "海峡股权交易中心",
    "description": "Fujian Forestry Certified Emission Reduction",
    "price_fen_per_t": 2500,
}


def audits(action: str) -> list[AuditEntry]:
    session = read_session()
    entries = list(
        session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
    )
    session.rollback()
    return entries


@pytest.fixture
def kind(client, admin_headers):
    response = client.post("/api/v1/admin/kinds", json=FFCER, headers=admin_headers)
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def owner(client, admin_headers):
    body = {"name": "顺昌县林农陈某", "kind": "forest_farmer", "county": "顺昌县"}
    response = client.post("/api/v1/admin/owners", json=body, headers=admin_headers)
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def project(client, admin_headers, kind, owner):
    body = {
        "code": "SC-FFCER-01",
        "name": "顺昌一元碳汇·竹林经营",
        "kind_code": "FFCER",
        "county": "顺昌县",
        "location": "福建省南平市顺昌县洋口镇",
        "owner_id": owner["id"],
        "methodology": "竹林经营碳汇项目方法学",
        "image_url": "https://img.example/bamboo.jpg",
    }
    response = client.post("/api/v1/admin/projects", json=body, headers=admin_headers)
    assert response.status_code == 201, response.json
    return response.json


def test_creating_a_kind_is_audited_with_its_actor(client, kind):
    assert kind["code"] == "FFCER"
    assert kind["price_fen_per_t"] == 2500
    (entry,) = audits("credit_kind.create")
    assert entry.entity_id == "FFCER"
    assert entry.before is None
    assert entry.after["registry_name"] == "海峡股权交易中心"
    assert entry.actor_id is not None


def test_a_duplicate_kind_is_a_409(client, admin_headers, kind):
    response = client.post("/api/v1/admin/kinds", json=FFCER, headers=admin_headers)

    assert response.status_code == 409
    assert len(audits("credit_kind.create")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**FFCER, "code": "ffcer lower"}, "code"),
        ({**FFCER, "price_fen_per_t": -1}, "price_fen_per_t"),
        ({**FFCER, "price_fen_per_t": "12.5"}, "price_fen_per_t"),
        ({key: value for key, value in FFCER.items() if key != "name"}, "name"),
        ({**FFCER, "colour": "green"}, "colour"),
    ],
)
def test_a_bad_kind_is_a_422_naming_the_field(client, admin_headers, body, field):
    response = client.post("/api/v1/admin/kinds", json=body, headers=admin_headers)

    assert response.status_code == 422
    assert field in response.json["errors"]["json"]


def test_kind_update_and_price_record_before_and_after(client, admin_headers, kind):
    updated = client.patch(
        "/api/v1/admin/kinds/FFCER", json={"name": "FFCER 林业碳汇"}, headers=admin_headers
    )
    priced = client.put(
        "/api/v1/admin/kinds/FFCER/price", json={"price_fen_per_t": 3000}, headers=admin_headers
    )

    assert updated.status_code == 200 and updated.json["name"] == "FFCER 林业碳汇"
    assert priced.status_code == 200 and priced.json["price_fen_per_t"] == 3000
    (entry,) = audits("credit_kind.price")
    assert (entry.before["price_fen_per_t"], entry.after["price_fen_per_t"]) == (2500, 3000)
    assert client.get("/api/v1/catalogue/kinds").json[0]["price_fen_per_t"] == 3000


def test_unknown_kind_is_a_404(client, admin_headers):
    response = client.put(
        "/api/v1/admin/kinds/NOPE/price", json={"price_fen_per_t": 1}, headers=admin_headers
    )

    assert response.status_code == 404


def test_owner_create_update_and_duplicate_name(client, admin_headers, owner):
    renamed = client.patch(
        f"/api/v1/admin/owners/{owner['id']}", json={"kind": "village_collective"}, headers=admin_headers
    )
    duplicate = client.post("/api/v1/admin/owners", json={"name": "顺昌县林农陈某"}, headers=admin_headers)
    bad_kind = client.post("/api/v1/admin/owners", json={"name": "x", "kind": "alien"}, headers=admin_headers)

    assert renamed.status_code == 200 and renamed.json["kind"] == "village_collective"
    assert duplicate.status_code == 409
    assert bad_kind.status_code == 422 and "kind" in bad_kind.json["errors"]["json"]
    assert [e.action for e in audits("project_owner.update")] == ["project_owner.update"]


def test_a_project_uses_its_kinds_price_until_it_has_its_own(client, admin_headers, project):
    assert project["price_fen_per_t"] is None
    assert project["effective_price_fen_per_t"] == 2500

    own = client.put(
        f"/api/v1/admin/projects/{project['id']}/price",
        json={"price_fen_per_t": 10000},
        headers=admin_headers,
    )
    assert own.json["effective_price_fen_per_t"] == 10000
    listed = client.get("/api/v1/catalogue/projects").json[0]
    assert (listed["price_fen_per_t"], listed["unit_price_fen"]) == (10000, 100)

    cleared = client.put(
        f"/api/v1/admin/projects/{project['id']}/price", json={"price_fen_per_t": None}, headers=admin_headers
    )
    assert cleared.json["price_fen_per_t"] is None
    assert cleared.json["effective_price_fen_per_t"] == 2500
    entries = audits("project.price")
    assert [(e.before["price_fen_per_t"], e.after["price_fen_per_t"]) for e in entries] == [
        (None, 10000),
        (10000, None),
    ]


def test_project_update_changes_fields_and_is_audited(client, admin_headers, project):
    response = client.patch(
        f"/api/v1/admin/projects/{project['id']}",
        json={"description": "毛竹林经营", "owner_id": None},
        headers=admin_headers,
    )

    assert response.status_code == 200
    assert response.json["description"] == "毛竹林经营"
    assert response.json["owner_id"] is None
    (entry,) = audits("project.update")
    assert entry.before["owner_id"] is not None and entry.after["owner_id"] is None


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"code": "P-2", "name": "x", "kind_code": "CCER"}, 422, "kind_code"),
        ({"code": "P-2", "name": "x", "kind_code": "FFCER", "owner_id": 999}, 422, "owner_id"),
        ({"code": "bad code!", "name": "x", "kind_code": "FFCER"}, 422, "code"),
        (
            {"code": "P-2", "name": "x", "kind_code": "FFCER", "image_url": "javascript:alert(1)"},
            422,
            "image_url",
        ),
        ({"code": "SC-FFCER-01", "name": "again", "kind_code": "FFCER"}, 409, None),
    ],
)
def test_bad_projects_are_refused(client, admin_headers, project, body, status, field):
    response = client.post("/api/v1/admin/projects", json=body, headers=admin_headers)

    assert response.status_code == status
    if field:
        errors = response.json["errors"]
        assert field in errors.get("json", errors)


def test_admin_project_list_and_detail(client, admin_headers, project):
    listed = client.get("/api/v1/admin/projects?kind=FFCER", headers=admin_headers)
    other = client.get("/api/v1/admin/projects?kind=CCER", headers=admin_headers)
    detail = client.get(f"/api/v1/admin/projects/{project['id']}", headers=admin_headers)
    missing = client.get("/api/v1/admin/projects/999", headers=admin_headers)

    assert [p["code"] for p in listed.json] == ["SC-FFCER-01"]
    assert other.json == []
    assert detail.json["owner_id"] == project["owner_id"]
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/admin/kinds"),
        ("patch", "/api/v1/admin/kinds/FFCER"),
        ("put", "/api/v1/admin/kinds/FFCER/price"),
        ("post", "/api/v1/admin/owners"),
        ("patch", "/api/v1/admin/owners/1"),
        ("get", "/api/v1/admin/projects"),
        ("post", "/api/v1/admin/projects"),
        ("get", "/api/v1/admin/projects/1"),
        ("patch", "/api/v1/admin/projects/1"),
        ("put", "/api/v1/admin/projects/1/price"),
    ],
)
def test_admin_endpoints_refuse_anonymous_and_non_admins(client, user_headers, method, path):
    # A body that would fail validation: auth must be checked first (401/403, not 422).
    anonymous = getattr(client, method)(path, json={"bogus": 1})
    user = getattr(client, method)(path, json={"bogus": 1}, headers=user_headers)

    assert anonymous.status_code == 401
    assert user.status_code == 403
    assert audits("credit_kind.create") == []


def test_moving_a_project_to_another_kind_takes_that_kinds_price(client, admin_headers, project):
    ccer = {"code": "CCER", "name": "国家核证自愿减排量", "price_fen_per_t": 8000}
    assert client.post("/api/v1/admin/kinds", json=ccer, headers=admin_headers).status_code == 201

    moved = client.patch(
        f"/api/v1/admin/projects/{project['id']}", json={"kind_code": "CCER"}, headers=admin_headers
    )

    assert moved.status_code == 200
    assert (moved.json["kind_code"], moved.json["effective_price_fen_per_t"]) == ("CCER", 8000)
    listed = client.get("/api/v1/catalogue/projects?kind=CCER").json[0]
    # CCER is not a one-yuan kind: the catalogue shows its credit price and no one-yuan unit price.
    assert (listed["price_fen_per_t"], listed["unit_price_fen"]) == (8000, None)
