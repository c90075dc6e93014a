"""Importing batches from CSV and JSON: all rows or none, every fault named by row and field."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from models import AuditEntry, Batch
from models.database import read_session
from services.pool import catalogue_admin

HEADER = (
    "project_code,vintage,serial_prefix,serial_start,serial_end,serial_digits,quantity_t,"
    "issued_on,registry_ref,registry_url"
)


@pytest.fixture
def projects(app):
    catalogue_admin.create_kind(None, {"code": "FFCER", "name": "FFCER", "price_fen_per_t": 2500})
    catalogue_admin.create_kind(None, {"code": "SMCER", "name": "三明林业碳票", "price_fen_per_t": 1500})
    shunchang = catalogue_admin.create_project(
        None, {"code": "SC-01", "name": "顺昌竹林经营", "kind_code": "FFCER", "county": "顺昌县"}
    )
    sanming = catalogue_admin.create_project(
        None, {"code": "SM-01", "name": "三明林业碳票", "kind_code": "SMCER", "county": "沙县区"}
    )
    return {"SC-01": shunchang.id, "SM-01": sanming.id}


def upload(client, headers, content: str | bytes, filename: str, query: str = ""):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(
        f"/api/v1/admin/batches/import{query}",
        data={"file": (io.BytesIO(data), filename)},
        headers=headers,
        content_type="multipart/form-data",
    )


def batch_count() -> int:
    return read_session().scalar(select(func.count()).select_from(Batch))


def import_audits() -> list[AuditEntry]:
    return list(read_session().scalars(select(AuditEntry).where(AuditEntry.action == "batches.import")))


def test_csv_with_bom_and_crlf_imports_every_row(client, admin_headers, projects):
    csv_text = "\r\n".join(
        [
            HEADER,
            "SC-01,2020,FFCER-350721-01-,1,1200,7,1200,2021-05-20,FFCER-2021-011,https://registry.example/b/11",
            "SC-01,2021,FFCER-350721-01-,1201,2600,,1400,2022-06-28,FFCER-2022-027,",
            "SM-01,2021,SMCER-SX-,1,3600,7,3600,2021-07-01,SMCER-SX-2021-0006,",
        ]
    )
    response = upload(client, admin_headers, "\ufeff" + csv_text + "\r\n", "batches.csv")

    assert response.status_code == 201, response.json
    assert response.json["batches_created"] == 3
    assert response.json["tonnes"] == 6200
    assert response.json["grams"] == 6_200_000_000
    by_project = {p["project_code"]: p for p in response.json["projects"]}
    assert by_project["SC-01"] == {"project_code": "SC-01", "batches": 2, "tonnes": 2600}

    listed = client.get(f"/api/v1/admin/batches?project_id={projects['SC-01']}", headers=admin_headers)
    assert listed.status_code == 200
    first, second = listed.json
    assert first["first_serial"] == "FFCER-350721-01-0000001"
    assert first["last_serial"] == "FFCER-350721-01-0001200"
    assert first["issued_g"] == first["available_g"] == 1_200_000_000
    assert (first["reserved_g"], first["sold_g"], first["retired_g"]) == (0, 0, 0)
    assert first["registry_url"] == "https://registry.example/b/11"
    assert second["serial_digits"] == 7  # the default when the cell is empty

    (entry,) = import_audits()
    assert entry.after["batches_created"] == 3
    assert entry.after["source"] == "batches.csv"
    assert entry.actor_id is not None


def test_json_list_imports_every_batch(client, admin_headers, projects):
    batches = [
        {
            "project_code": "SM-01",
            "vintage": 2022,
            "serial_prefix": "SMCER-SX-",
            "serial_start": 3601,
            "serial_end": 6000,
            "quantity_t": 2400,
            "issued_on": "2022-12-06",
            "registry_ref": "SMCER-SX-2022-0019",
        },
        {
            "project_code": "SC-01",
            "vintage": "2023",
            "serial_prefix": "FFCER-X-",
            "serial_start": "1",
            "serial_end": "10",
            "serial_digits": 8,
            "quantity_t": 10,
            "issued_on": "2024-01-02",
            "registry_ref": "FFCER-2024-001",
            "registry_url": "https://registry.example/x",
        },
    ]
    response = upload(client, admin_headers, json.dumps(batches, ensure_ascii=False), "pool.json")

    assert response.status_code == 201, response.json
    assert response.json["batches_created"] == 2
    assert response.json["tonnes"] == 2410
    detail = client.get(f"/api/v1/catalogue/projects/{projects['SC-01']}").json
    assert detail["batches"][0]["first_serial"] == "FFCER-X-00000001"
    assert detail["available_t"] == 10


def test_a_bad_csv_lists_every_bad_row_and_imports_nothing(client, admin_headers, projects):
    existing = "\n".join([HEADER, "SC-01,2020,FFCER-SC-,1,1000,7,1000,2021-03-01,REF-0,"])
    assert upload(client, admin_headers, existing, "first.csv").status_code == 201

    rows = [
        "SC-01,2021,FFCER-SC-,1001,2000,7,1000,2022-05-01,REF-1,",  # 1: good on its own
        "NOPE-99,2021,FFCER-X-,1,10,7,10,2022-05-01,REF-2,",  # 2: unknown project
        "SC-01,2021,FFCER-Q-,1,100,7,99,2022-05-01,REF-3,",  # 3: quantity does not match
        "SC-01,2021,FFCER-R-,50,10,7,1,2022-05-01,REF-4,",  # 4: end before start
        "SC-01,2021,FFCER-S-,1,10,7,10,2999-01-01,REF-5,",  # 5: issued in the future
        "SC-01,2021,FFCER-T-,1,10,7,10,2021-02-30,REF-6,",  # 6: no such date
        "SC-01,20x1,FFCER-U-,1,10,7,10,2022-05-01,REF-7,",  # 7: vintage not a number
        "SC-01,1850,FFCER-V-,1,10,7,10,2022-05-01,REF-8,",  # 8: implausible vintage
        "SC-01,2021,FFCER-W-,1,10,7,10,2022-05-01,,",  # 9: registry_ref missing
        "SC-01,2021,FFCER-SC-,1500,1600,7,101,2022-05-01,REF-10,",  # 10: overlaps row 1
        "SC-01,2021,FFCER-SC-,900,1000,7,101,2022-05-01,REF-11,",  # 11: overlaps the pool
    ]
    response = upload(client, admin_headers, "\n".join([HEADER, *rows]), "bad.csv")

    assert response.status_code == 422
    assert response.json["error"] == "validation_failed"
    errors = response.json["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {
        (2, "project_code"),
        (3, "quantity_t"),
        (4, "serial_end"),
        (5, "issued_on"),
        (6, "issued_on"),
        (7, "vintage"),
        (8, "vintage"),
        (9, "registry_ref"),
        (10, "serial_start"),
        (11, "serial_start"),
    }
    assert all(e["line"] == e["row"] + 1 for e in errors)  # the header is line 1
    by_row = {e["row"]: e["message"] for e in errors}
    assert "NOPE-99" in by_row[2]
    assert "future" in by_row[5]
    assert "row 1" in by_row[10]
    assert "already in the pool" in by_row[11] and "FFCER-SC-0000001–FFCER-SC-0001000" in by_row[11]

    assert batch_count() == 1
    assert len(import_audits()) == 1


def test_a_bad_json_names_each_faulty_item(client, admin_headers, projects):
    good = {
        "project_code": "SC-01",
        "vintage": 2021,
        "serial_prefix": "J-",
        "serial_start": 1,
        "serial_end": 5,
        "quantity_t": 5,
        "issued_on": "2022-01-01",
        "registry_ref": "R",
    }
    items = [
        good,
        "not an object",
        {**good, "serial_prefix": "K-", "quantity_t": 5.0},
        {**good, "serial_prefix": "L-", "colour": "green"},
        {key: value for key, value in good.items() if key != "issued_on"} | {"serial_prefix": "M-"},
        {**good, "serial_prefix": "N-", "serial_end": 123456789, "quantity_t": 123456789},
    ]
    response = upload(client, admin_headers, json.dumps(items), "batches.json")

    assert response.status_code == 422
    assert {(e["row"], e["field"]) for e in response.json["errors"]} == {
        (2, None),
        (3, "quantity_t"),
        (4, "colour"),
        (5, "issued_on"),
        (6, "serial_end"),  # more digits than serial_digits (7)
    }
    assert batch_count() == 0


@pytest.mark.parametrize(
    ("content", "filename", "query", "field"),
    [
        ("project_code,vintage\nSC-01,2021\n", "a.csv", "", "serial_prefix"),
        (HEADER + ",colour\n", "a.csv", "", "colour"),
        ("{not json", "a.json", "", "file"),
        ('{"batches": []}', "a.json", "", "file"),
        (HEADER + "\n", "a.csv", "", "file"),
        (HEADER, "batches.txt", "", "format"),
        (b"\xff\xfe" + "é".encode("utf-16-le"), "a.csv", "", "file"),
    ],
)
def test_a_malformed_file_is_refused_with_the_fault_named(
    client, admin_headers, projects, content, filename, query, field
):
    response = upload(client, admin_headers, content, filename, query)

    assert response.status_code == 422
    assert field in {e["field"] for e in response.json["errors"]}
    assert batch_count() == 0


def test_the_format_can_be_given_when_the_name_does_not_tell(client, admin_headers, projects):
    csv_text = HEADER + "\nSC-01,2021,F-,1,3,7,3,2022-01-01,R,\n"
    response = upload(client, admin_headers, csv_text, "export.txt", "?format=csv")

    assert response.status_code == 201
    assert response.json["tonnes"] == 3


def test_a_request_without_a_file_is_a_422_naming_it(client, admin_headers):
    response = client.post(
        "/api/v1/admin/batches/import", headers=admin_headers, content_type="multipart/form-data", data={}
    )

    assert response.status_code == 422
    assert "file" in response.json["errors"]["files"]


def test_importing_the_same_file_twice_is_refused_as_overlap(client, admin_headers, projects):
    csv_text = HEADER + "\nSC-01,2021,F-,1,3,7,3,2022-01-01,R,\n"
    assert upload(client, admin_headers, csv_text, "a.csv").status_code == 201

    again = upload(client, admin_headers, csv_text, "a.csv")

    assert again.status_code == 422
    assert again.json["errors"][0]["field"] == "serial_start"
    assert batch_count() == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/admin/batches/import"),
        ("get", "/api/v1/admin/batches"),
    ],
)
def test_batch_endpoints_need_an_admin(client, user_headers, method, path):
    anonymous = getattr(client, method)(path)
    user = getattr(client, method)(path, headers=user_headers)

    assert anonymous.status_code == 401
    assert user.status_code == 403


def test_the_batch_list_is_paginated_and_filtered_by_project(client, admin_headers, projects):
    rows = [f"SC-01,2021,P-,{i * 10 + 1},{i * 10 + 10},7,10,2022-01-01,R{i}," for i in range(5)]
    rows.append("SM-01,2021,Q-,1,10,7,10,2022-01-01,R9,")
    assert upload(client, admin_headers, "\n".join([HEADER, *rows]), "a.csv").status_code == 201

    page = client.get("/api/v1/admin/batches?page=2&page_size=2", headers=admin_headers)
    only_sm = client.get(f"/api/v1/admin/batches?project_id={projects['SM-01']}", headers=admin_headers)

    assert json.loads(page.headers["X-Pagination"])["total"] == 6
    assert [b["serial_start"] for b in page.json] == [21, 31]
    assert [b["project"]["code"] for b in only_sm.json] == ["SM-01"]


@pytest.mark.postgres
def test_import_on_postgres(pg_client, pg_admin_headers):
    headers = pg_admin_headers
    catalogue_admin.create_kind(None, {"code": "FFCER", "name": "FFCER"})
    catalogue_admin.create_project(None, {"code": "SC-01", "name": "顺昌", "kind_code": "FFCER"})
    csv_text = HEADER + "\nSC-01,2021,F-,1,3,7,3,2022-01-01,R,\nSC-01,2021,F-,3,4,7,2,2022-01-01,R,\n"

    refused = upload(pg_client, headers, csv_text, "a.csv")
    accepted = upload(pg_client, headers, csv_text.replace(",3,4,7,2,", ",4,5,7,2,"), "a.csv")

    assert refused.status_code == 422
    assert accepted.status_code == 201
    assert accepted.json["tonnes"] == 5
