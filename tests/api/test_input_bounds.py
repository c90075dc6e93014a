"""Every input is bounded at the schema: strict integers in a range, bounded numbers, dates and strings.

The rules are checked on every argument schema a view declares (body, query, form, headers, files,
pagination) and on the OpenAPI description itself, so a new field without bounds fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask
from flask_smorest.fields import Upload
from marshmallow import validate

from api import fields
from tests.support.accounts import bearer, login_user
from tests.support.events import create_event, organiser
from tests.support.factors import publish_library
from tests.support.pool import stock_pool


def _argument_schemas(app: Flask) -> Iterator[tuple[str, ma.Schema]]:
    for endpoint, view in app.view_functions.items():
        doc = getattr(view, "_apidoc", {})
        parameters = list(doc.get("arguments", {}).get("parameters", []))
        if "pagination" in doc:
            parameters.append(doc["pagination"]["parameters"])
        for parameter in parameters:
            schema = parameter["schema"]
            yield endpoint, schema() if isinstance(schema, type) else schema


def _ranges(field: ma.fields.Field) -> list[validate.Range]:
    return [v for v in field.validators if isinstance(v, validate.Range)]


def _unbounded(field: ma.fields.Field, path: str) -> Iterator[str]:
    validators = field.validators
    if isinstance(field, ma.fields.Nested):
        for name, inner in field.schema.fields.items():
            if not inner.dump_only:
                yield from _unbounded(inner, f"{path}.{name}")
    elif isinstance(field, ma.fields.List):
        if not any(isinstance(v, validate.Length) and v.max is not None for v in validators):
            yield f"{path}: a list without a maximum length"
        yield from _unbounded(field.inner, f"{path}[]")
    elif isinstance(field, ma.fields.Dict):
        if not any(isinstance(v, fields.Entries) for v in validators):
            yield f"{path}: a mapping without a maximum number of entries"
        if field.key_field is None or field.value_field is None:
            yield f"{path}: a mapping whose keys or values are not declared"
        else:
            yield from _unbounded(field.key_field, f"{path}{{key}}")
            yield from _unbounded(field.value_field, f"{path}{{value}}")
    elif isinstance(field, ma.fields.Integer):
        if not isinstance(field, fields.Integer):
            yield f"{path}: not the strict api.fields.Integer"
        if not any(r.min is not None and r.max is not None for r in _ranges(field)):
            yield f"{path}: an integer without both bounds"
    elif isinstance(field, ma.fields.Float | ma.fields.Decimal):
        if not any(r.min is not None and r.max is not None for r in _ranges(field)):
            yield f"{path}: a number without both bounds"
        if field.allow_nan:
            yield f"{path}: NaN allowed"
    elif isinstance(field, ma.fields.Date | ma.fields.DateTime):
        if not any(isinstance(v, fields.InCalendar) for v in validators):
            yield f"{path}: a date outside {fields.FIRST_DAY}..{fields.LAST_DAY} accepted"
    elif isinstance(field, ma.fields.String):
        if not any(
            (isinstance(v, validate.Length) and v.max is not None) or isinstance(v, validate.OneOf)
            for v in validators
        ):
            yield f"{path}: a string without a maximum length"
    elif not isinstance(field, ma.fields.Boolean | ma.fields.Enum | Upload):
        # Uploads are bounded by MAX_CONTENT_LENGTH; anything else needs a rule here first.
        yield f"{path}: {type(field).__name__} is not checked for bounds"


def test_every_argument_schema_bounds_every_field(app):
    problems: set[str] = set()
    for endpoint, schema in _argument_schemas(app):
        for name, field in schema.fields.items():
            if not field.dump_only:
                problems.update(_unbounded(field, f"{endpoint}:{type(schema).__name__}.{name}"))

    assert not problems, "\n".join(sorted(problems))


def _request_values(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    schemas = spec["components"]["schemas"]

    def walk(schema: dict[str, Any], path: str, seen: frozenset[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                yield from walk(schemas[name], path, seen | {name})
            return
        if schema.get("readOnly"):
            return
        for key in ("allOf", "anyOf", "oneOf"):
            for part in schema.get(key, []):
                yield from walk(part, path, seen)
        if "properties" in schema:
            for name, inner in schema["properties"].items():
                yield from walk(inner, f"{path}.{name}", seen)
        elif "items" in schema:
            yield from walk(schema["items"], f"{path}[]", seen)
        elif "type" in schema:
            yield path, schema

    for route, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            where = f"{method.upper()} {route}"
            for parameter in [*operations.get("parameters", []), *operation.get("parameters", [])]:
                if parameter.get("in") != "path":
                    yield from walk(parameter.get("schema", {}), f"{where} {parameter['name']}", frozenset())
            for media in operation.get("requestBody", {}).get("content", {}).values():
                yield from walk(media.get("schema", {}), f"{where} body", frozenset())


def test_the_openapi_description_states_every_input_bound(app, client):
    spec = client.get("/api/openapi.json").json
    problems = []
    for path, schema in _request_values(spec):
        kind = schema["type"]
        if kind in ("integer", "number"):
            if not all(isinstance(schema.get(b), int | float) for b in ("minimum", "maximum")):
                problems.append(f"{path}: {kind} without numeric minimum and maximum ({schema})")
        elif (
            kind == "string"
            and "enum" not in schema
            and schema.get("format") not in ("binary", "date", "date-time")
        ) and not isinstance(schema.get("maxLength"), int):
            problems.append(f"{path}: string without maxLength")

    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "body",
    [
        {"product": "one_yuan", "units": 2.9},
        {"product": "one_yuan", "units": "2.9"},
        {"product": "one_yuan", "units": "2"},  # a JSON body's number is a JSON number
        {"product": "one_yuan", "units": True},
        {"product": "one_yuan", "units": "²"},
        {"product": "credits", "project_id": 1.7, "kg": 1},
        {"product": "credits", "project_id": 1, "kg": 1.5},
    ],
)
def test_an_integer_field_refuses_what_is_not_a_whole_number(client, body):
    stock_pool()
    token, _ = login_user(client, "strict-buyer")

    response = client.post("/api/v1/orders", json=body, headers=bearer(token))

    assert response.status_code == 422, response.json
    assert response.json["error"] == "validation_failed"
    listed = client.get("/api/v1/orders", headers=bearer(token))
    assert listed.json == []  # nothing was ordered


def test_query_integers_take_ascii_digits_only(client, admin_headers):
    assert client.get("/api/v1/admin/orders?user_id=7", headers=admin_headers).status_code == 200
    for value in ("1.7", "٣", "¹", "1_0", " 7"):
        response = client.get("/api/v1/admin/orders", query_string={"user_id": value}, headers=admin_headers)
        assert response.status_code == 422, (value, response.json)


@pytest.mark.parametrize("page", ["9223372036854775807", "100001", "0", "1.5"])
def test_a_page_out_of_bounds_is_refused_on_every_list(client, page):
    token, _ = login_user(client, "pager")

    for path in ("/api/v1/rankings", "/api/v1/orders", "/api/v1/me/certificates"):
        response = client.get(path, query_string={"page": page}, headers=bearer(token))
        assert response.status_code == 422, (path, response.json)
        assert "page" in response.json["errors"]["query"]
    assert client.get("/api/v1/rankings?page=100000", headers=bearer(token)).status_code == 200


def test_an_event_ending_in_year_9999_is_refused_and_not_saved(client):
    publish_library()
    who = organiser(client, "far-future", "远方会务")
    plan = {"name": "远期论坛", "start_date": "2025-01-01", "end_date": "9999-12-31", "venue_city": "福州"}
    events = f"/api/v1/organisations/{who['organisation_id']}/events"

    refused = client.post(events, json=plan, headers=who["headers"])
    kept = create_event(client, who)
    moved = client.patch(
        f"/api/v1/events/{kept['id']}", json={"end_date": "9999-12-31"}, headers=who["headers"]
    )

    assert refused.status_code == 422 and "end_date" in refused.json["errors"]["json"]
    assert moved.status_code == 422
    listed = client.get(events, headers=who["headers"])
    assert listed.status_code == 200
    assert [e["id"] for e in listed.json] == [kept["id"]]
    assert (
        client.get(f"/api/v1/events/{kept['id']}", headers=who["headers"]).json["event"]["end_date"]
        == kept["end_date"]
    )


def test_the_footprint_bounds_are_numbers_in_openapi(client):
    spec = client.get("/api/openapi.json").json
    home = spec["components"]["schemas"]["Home"]["properties"]["electricity_kwh"]

    assert home["minimum"] == 0 and isinstance(home["maximum"], int | float)


def test_event_factors_declare_every_category_they_answer(client):
    from services.neutralisation.event_factors import EVENT_CATEGORIES

    spec = client.get("/api/openapi.json").json

    assert spec["components"]["schemas"]["EventFactor"]["properties"]["category"]["enum"] == list(
        EVENT_CATEGORIES
    )


# -- uploaded files: every fault of their content is the uploader's (4xx), never a 500 -------------

OVER_CSV_FIELD = b"x" * (128 * 1024 + 1)  # the csv module refuses a field over 128 KiB (_csv.Error)
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000  # json recurses once per level (RecursionError)


def _upload(client, url: str, name: str, body: bytes, headers: dict[str, str], **form: str):
    import io

    data = {"file": (io.BytesIO(body), name), **form}
    return client.post(url, data=data, headers=headers, content_type="multipart/form-data")


def test_an_attendee_field_over_128_kib_is_refused(client):
    publish_library()
    who = organiser(client, "bounds-organiser", "边界会展")
    event = create_event(client, who)
    body = b"origin_city,mode,return\n" + OVER_CSV_FIELD + b",hsr,yes\n"

    refused = _upload(
        client, f"/api/v1/events/{event['id']}/attendees?phase=actual", "a.csv", body, who["headers"]
    )

    assert refused.status_code == 422, refused.json
    assert refused.json["errors"] == [
        {
            "row": None,
            "field": "file",
            "message": "The CSV cannot be read at line 2: field larger than field limit (131072).",
            "line": 2,
        }
    ]


@pytest.mark.parametrize(
    ("name", "body", "fault"),
    [
        ("factors.csv", b"key,value\n" + OVER_CSV_FIELD + b",1\n", "not valid CSV at line 2"),
        ("factors.json", DEEP_JSON, "nested deeper than 64 levels"),
        ("factors.json", b'[{"key": "a.b", "source": "\\ud800"}]', "lone surrogate"),
        ("factors.json", b'[{"key": "a.b", "value": ' + b"1" * 5000 + b"}]", "integer string conversion"),
    ],
)
def test_a_factor_file_that_no_parser_can_read_is_refused(client, admin_headers, name, body, fault):
    refused = _upload(client, "/api/v1/admin/factor-sets", name, body, admin_headers)

    assert refused.status_code == 422, refused.json
    assert fault in str(refused.json["errors"])


@pytest.mark.parametrize(
    ("body", "fault"),
    [
        (DEEP_JSON, "nested deeper than 64 levels"),
        (b'[{"project_code": "\\ud800", "tonnes": 1}]', "lone surrogate"),
        (b'[{"project_code": "P", "tonnes": ' + b"9" * 5000 + b"}]", "integer string conversion"),
    ],
)
def test_a_batch_file_that_no_parser_can_read_is_refused(client, admin_headers, body, fault):
    refused = _upload(client, "/api/v1/admin/batches/import", "batches.json", body, admin_headers)

    assert refused.status_code == 422, refused.json
    assert fault in str(refused.json["errors"])


@pytest.mark.parametrize(
    "line",
    [
        "`2026-02-30 10:15:00,`wx,`1900000109,`4200000001,`CO1,`o1,`JSAPI,`SUCCESS,`1.00",  # no such day
        "`2026-11-22 10:15:00,`wx,`1900000109,`4200000001,`CO1,`o1,`JSAPI,`SUCCESS,`1e999999999",
        '"' + "x" * (128 * 1024 + 1),
    ],
)
def test_a_trade_bill_line_that_cannot_be_read_is_refused(client, admin_headers, line):
    header = "交易时间,公众账号ID,商户号,微信订单号,商户订单号,用户标识,交易类型,交易状态,应结订单金额"
    body = f"{header}\r\n{line}\r\n".encode()

    refused = _upload(
        client, "/api/v1/admin/reconciliation/runs/upload", "bill.csv", body, admin_headers, date="2026-11-22"
    )

    assert refused.status_code == 422, refused.json
    assert refused.json["error"] == "bill_format_error" and "line 2" in refused.json["message"]
