"""Event neutralisation: accounting to the gram, attendee lists, member-only access, offset, disclosure."""

import io
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from models import Event, utcnow
from models.database import read_session
from models.events import one_year_after
from services.kernel import beijing_time
from tests.support.events import create_event, organiser, publish, upload
from tests.support.factors import publish_library
from tests.support.pdfs import flat
from tests.support.pool import stock_pool

CUSTOM = "test input: an organiser-supplied factor with its citation"

# Actual travel list. Great-circle distances to 福州 (Fuzhou, 26.07, 119.30) between the centres of
# the library's city table (data/factors/cities.csv), R = 6371.0088 km, half-up to 0.1 km:
# Xiamen (24.48, 118.09) 214.614 → 214.6 km, Sanming (26.26, 117.64) 167.010 → 167.0 km,
# Beijing (39.90, 116.41) 1561.016 → 1561.0 km, Hangzhou (30.27, 120.16) 474.561 → 474.6 km.
ATTENDEES = """name,origin_city,mode,return
林一,厦门,hsr,yes
林二,Xiamen,hsr,yes
林三,xiamen,HSR,是
陈一,三明,hsr,no
陈二,Sanming,hsr,no
王一,北京,flight,yes
张一,杭州市,car,no
"""
# hsr:    3 × 214.6 × 2 + 2 × 167.0 = 1287.6 + 334.0 = 1621.6 pkm × 30.48 g = 49,426.368 g → 49,426 g
# flight: 1 × 1561.0 × 2 = 3122.0 pkm × 95.3 g = 297,526.6 g → 297,527 g
# car:    1 × 474.6 = 474.6 pkm × 0.27 kg = 128.142 kg → 128,142 g
TRAVEL_G = 49_426 + 297_527 + 128_142  # 475,095 g

ACTUAL_SOURCES = [
    # 12,345.6 kWh × 0.5500 kg (East China grid 2023) = 6,790.08 kg → 6,790,080 g
    (
        {"kind": "venue_electricity", "activity": "12345.6", "factor_key": "electricity.grid.east"},
        6_790_080,
    ),
    # 250.5 m³ × 2.1622 kg = 541.6311 kg → 541,631.1 g → 541,631 g
    ({"kind": "venue_fuel", "activity": "250.5", "factor_key": "fuel.natural_gas"}, 541_631),
    # 80.25 kg × 3.0959 kg = 248.445975 kg → 248,445.975 g → 248,446 g
    ({"kind": "vehicles", "activity": "80.25", "factor_key": "fuel.diesel"}, 248_446),
    # 2.5 kg × 0.001 kg = 0.0025 kg = 2.5 g → 3 g (half-up, not half-even)
    (
        {
            "kind": "waste",
            "activity": "2.5",
            "factor_key": "custom",
            "factor_kg_per_unit": "0.001",
            "activity_unit": "kg",
            "factor_source": CUSTOM,
        },
        3,
    ),
]
ACTUAL_G = 6_790_080 + 541_631 + 248_446 + 3 + TRAVEL_G  # 8,055,255 g
# 10,000 kWh × 0.5306 kg (national grid 2023) = 5,306 kg
ESTIMATE_G = 5_306_000


@pytest.fixture
def library(app):
    return publish_library()


@pytest.fixture
def org(client, library):
    return organiser(client, "organiser-code", "海峡会展中心")


def _account(client, org):
    event = create_event(client, org)
    url = f"/api/v1/events/{event['id']}"
    estimate = client.post(
        f"{url}/sources",
        json={
            "phase": "estimate",
            "kind": "venue_electricity",
            "activity": "10000",
            "factor_key": "electricity.grid.national",
        },
        headers=org["headers"],
    )
    assert estimate.status_code == 201, estimate.json
    for body, grams in ACTUAL_SOURCES:
        added = client.post(f"{url}/sources", json={"phase": "actual", **body}, headers=org["headers"])
        assert added.status_code == 201, added.json
        assert added.json["grams"] == grams
    uploaded = upload(client, org, event["id"], ATTENDEES)
    assert uploaded.status_code == 200, uploaded.json
    assert uploaded.json == {
        "phase": "actual",
        "attendees": 7,
        "groups": 4,
        "grams": TRAVEL_G,
        "added": 7,
        "append": False,
        "rejected_rows": 0,
        "rejected": [],
    }
    return event["id"], url


def _accounted(client, org):
    event_id, url = _account(client, org)
    assert client.post(f"{url}/account", headers=org["headers"]).status_code == 200
    return event_id, url


def test_an_event_with_five_sources_adds_up_to_the_gram(client, org):
    event_id, url = _account(client, org)
    detail = client.get(url, headers=org["headers"]).json
    assert detail["totals"] == {"estimate": ESTIMATE_G, "actual": ACTUAL_G}
    assert detail["event"]["actual_attendees"] == 7
    travel = {s["factor_key"]: s for s in detail["sources"] if s["from_attendee_list"]}
    assert {k: (s["activity"], s["grams"]) for k, s in travel.items()} == {
        "transport.rail.high_speed": ("1621.6000", 49_426),
        "transport.flight.domestic": ("3122.0000", 297_527),
        "transport.car.private": ("474.6000", 128_142),
    }
    # A second upload replaces the list rather than adding to it.
    assert upload(client, org, event_id, ATTENDEES).json["grams"] == TRAVEL_G
    assert client.get(url, headers=org["headers"]).json["totals"]["actual"] == ACTUAL_G

    moved = client.patch(url, json={"venue_city": "厦门"}, headers=org["headers"])
    assert moved.status_code == 409 and "venue_city" in moved.json["errors"]

    accounted = client.post(f"{url}/account", headers=org["headers"])
    assert accounted.status_code == 200 and accounted.json["event"]["stage"] == "accounted"
    frozen = client.post(
        f"{url}/sources",
        json={"phase": "estimate", "kind": "waste", "activity": "1", "factor_key": "fuel.diesel"},
        headers=org["headers"],
    )
    assert frozen.status_code == 409


def test_a_custom_factor_needs_its_cited_source(client, org):
    event = create_event(client, org)
    response = client.post(
        f"/api/v1/events/{event['id']}/sources",
        json={"phase": "estimate", "kind": "catering", "activity": "300", "factor_kg_per_unit": "2.5"},
        headers=org["headers"],
    )
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"activity_unit", "factor_source"}


# To Fuzhou: Xiamen 214.6 km, Sanming 167.0 km.
# hsr: 1 × 214.6 × 2 = 429.2 pkm × 30.48 g = 13,082.016 g → 13,082 g
XIAMEN_HSR_RETURN_G = 13_082
# car: 167.0 pkm × 0.27 kg = 45.09 kg → 45,090 g per attendee from Sanming, one way
SANMING_CAR_G = 45_090


def _faults(response):
    return [(f["row"], f["line"], f["field"]) for f in response.json["rejected"]]


def test_every_bad_row_is_reported_and_the_good_rows_are_kept(client, org):
    event = create_event(client, org)
    text = (
        "name,origin_city,mode,return\n"
        "ok,厦门,hsr,yes\n"
        "a,Atlantis,hsr,yes\n"
        "b,北京,rocket,yes\n"
        "c,北京,flight,maybe\n"
        "d,北京,bus,no\n"
        "e,,car,no\n"
        "ok,三明,car,no\n"
    )
    response = upload(client, org, event["id"], text)
    assert response.status_code == 200, response.json
    assert (response.json["attendees"], response.json["added"], response.json["rejected_rows"]) == (2, 2, 5)
    # Row 1 is the first attendee, on line 2 (the header is line 1): the batch import's form.
    assert _faults(response) == [
        (2, 3, "origin_city"),
        (3, 4, "mode"),
        (4, 5, "return"),
        (5, 6, "mode"),
        (6, 7, "origin_city"),
    ]
    atlantis, rocket, maybe, bus, empty = response.json["rejected"]
    assert atlantis["value"] == "Atlantis" and "Atlantis" in atlantis["message"]
    assert rocket["value"] == "rocket" and rocket["message"].startswith("Unknown mode 'rocket'")
    assert maybe["value"] == "maybe"
    assert bus["value"] == "bus" and "no cited emission factor for mode 'bus'" in bus["message"].lower()
    assert rocket["accepted"] == bus["accepted"] == ["car", "flight", "hsr", "metro"]
    assert empty["message"] == "origin_city is empty."
    detail = client.get(f"/api/v1/events/{event['id']}", headers=org["headers"]).json
    assert {(g["origin_city"], g["mode"], g["attendees"]) for g in detail["travel"]} == {
        ("xiamen", "hsr", 1),
        ("sanming", "car", 1),
    }
    assert detail["totals"]["actual"] == XIAMEN_HSR_RETURN_G + SANMING_CAR_G
    assert detail["event"]["actual_attendees"] == 2


def test_a_file_without_a_good_row_is_refused_and_nothing_is_saved(client, org):
    event = create_event(client, org)
    kept = upload(client, org, event["id"], "origin_city,mode,return\n厦门,hsr,yes\n")
    assert kept.status_code == 200, kept.json
    response = upload(client, org, event["id"], "origin_city,mode,return\nAtlantis,hsr,yes\n北京,rocket,no\n")
    assert response.status_code == 422
    assert [(f["row"], f["line"], f["field"]) for f in response.json["errors"]] == [
        (1, 2, "origin_city"),
        (2, 3, "mode"),
    ]
    # The list uploaded before stays as it was.
    detail = client.get(f"/api/v1/events/{event['id']}", headers=org["headers"]).json
    assert [(g["origin_city"], g["attendees"]) for g in detail["travel"]] == [("xiamen", 1)]
    assert detail["totals"]["actual"] == XIAMEN_HSR_RETURN_G


def test_an_unknown_mode_names_its_row_and_only_that_row_needs_fixing(client, org):
    event = create_event(client, org)
    url = f"/api/v1/events/{event['id']}"
    rows = ["name,origin_city,mode,return", "ok,厦门,hsr,yes", "x,三明,Rocket,no", "ok,三明,car,no"]
    response = upload(client, org, event["id"], "\n".join(rows) + "\n")
    assert response.status_code == 200, response.json
    (rocket,) = response.json["rejected"]
    assert rocket == {
        "row": 2,
        "line": 3,
        "field": "mode",
        "message": "Unknown mode 'Rocket'; the modes accepted are car, flight, hsr, metro.",
        "value": "Rocket",
        "accepted": ["car", "flight", "hsr", "metro"],
    }
    # The other rows are kept: the list lacks only the rejected row.
    assert (response.json["attendees"], response.json["rejected_rows"]) == (2, 1)
    assert (
        client.get(url, headers=org["headers"]).json["totals"]["actual"]
        == XIAMEN_HSR_RETURN_G + SANMING_CAR_G
    )

    # Only the fixed row is sent again, added to the list: the list is complete.
    fixed = upload(client, org, event["id"], "name,origin_city,mode,return\nx,三明,car,no\n", append=True)
    assert fixed.status_code == 200, fixed.json
    assert (fixed.json["attendees"], fixed.json["added"], fixed.json["append"]) == (3, 1, True)
    assert fixed.json["rejected"] == [] and fixed.json["grams"] == XIAMEN_HSR_RETURN_G + 2 * SANMING_CAR_G
    detail = client.get(url, headers=org["headers"]).json
    assert detail["event"]["actual_attendees"] == 3
    assert detail["totals"]["actual"] == XIAMEN_HSR_RETURN_G + 2 * SANMING_CAR_G

    # The same as the whole list uploaded right at once.
    whole = create_event(client, org)
    rows[2] = "x,三明,car,no"
    at_once = upload(client, org, whole["id"], "\n".join(rows) + "\n")
    assert at_once.json["grams"] == fixed.json["grams"] and at_once.json["groups"] == fixed.json["groups"]

    def _groups(event_id):
        travel = client.get(f"/api/v1/events/{event_id}", headers=org["headers"]).json["travel"]
        return sorted(
            (g["origin_city"], g["mode"], g["return_trip"], g["attendees"], g["passenger_km"]) for g in travel
        )

    assert _groups(event["id"]) == _groups(whole["id"])


def test_a_file_without_the_required_columns_is_refused(client, org):
    event = create_event(client, org)
    response = upload(client, org, event["id"], "name,city\nx,福州\n")
    assert response.status_code == 422
    assert response.json["errors"] == [
        {"row": None, "line": 1, "field": name, "message": f"Column {name!r} is missing from the header row."}
        for name in ("origin_city", "mode", "return")
    ]


def test_only_members_of_the_organisation_see_or_change_an_event(client, org):
    event = create_event(client, org)
    other = organiser(client, "other-code", "另一家公司", admin_token=org["admin"]["Authorization"][7:])
    url = f"/api/v1/events/{event['id']}"
    assert client.get(url, headers=other["headers"]).status_code == 403
    assert client.patch(url, json={"published": True}, headers=other["headers"]).status_code == 403
    assert upload(client, other, event["id"], ATTENDEES).status_code == 403
    listed = client.get(f"/api/v1/organisations/{org['organisation_id']}/events", headers=other["headers"])
    assert listed.status_code == 403
    created = client.post(
        f"/api/v1/organisations/{org['organisation_id']}/events",
        json={"name": "x", "start_date": "2026-01-01", "end_date": "2026-01-01", "venue_city": "福州"},
        headers=other["headers"],
    )
    assert created.status_code == 403
    assert client.get("/api/v1/events/999999", headers=other["headers"]).status_code == 404
    assert client.get(url).status_code == 401
    # Not published: the public sees nothing, under its code or its id.
    for key in (event["public_code"], event["id"]):
        assert client.get(f"/api/v1/public/events/{key}").status_code == 404
        assert client.get(f"/events/{key}/disclosure").status_code == 404


def test_an_unknown_venue_city_is_named(client, org):
    response = client.post(
        f"/api/v1/organisations/{org['organisation_id']}/events",
        json={"name": "x", "start_date": "2026-01-02", "end_date": "2026-01-01", "venue_city": "Gotham"},
        headers=org["headers"],
    )
    assert response.status_code == 422 and "venue_city" in response.json["errors"]


def stored_stage(event_id):
    """The event's stage as stored (and whether offset_at is set), read without the API."""
    session = read_session()
    event = session.get(Event, event_id, populate_existing=True)
    stored = (event.stage.value, event.offset_at is not None)
    session.rollback()
    return stored


def _offset_grams():
    return -(-ACTUAL_G // 1_000) * 1_000  # 8,056,000 g, whole kilograms


def test_offset_paid_by_wechat_sandbox_then_declared_and_disclosed(client, org, library):
    project_id, _ = stock_pool(tonnes=10)
    stock_pool(tonnes=10, code="PH-1", kind="PHCER", owner="村集体")  # a kind events may not use
    event_id, url = _accounted(client, org)
    quote = client.get(f"{url}/offset-quote", headers=org["headers"]).json
    assert quote["grams"] == _offset_grams()
    assert [o["project_id"] for o in quote["options"]] == [project_id]
    assert quote["options"][0]["amount_fen"] == 80_560  # 8.056 t × ¥100

    placed = client.post(f"{url}/offset", json={"project_id": project_id}, headers=org["headers"])
    assert placed.status_code == 201, placed.json
    order = placed.json["order"]
    assert order["channel"] == "event" and order["grams"] == _offset_grams()
    assert placed.json["request_payment"] is not None
    again = client.post(f"{url}/offset", json={"project_id": project_id}, headers=org["headers"])
    assert again.status_code == 409
    assert client.post(f"{url}/declare", headers=org["headers"]).status_code == 409

    paid = client.post(f"/api/v1/sandbox/orders/{order['out_trade_no']}/pay", headers=org["headers"])
    assert paid.status_code == 200 and paid.json["status"] == "fulfilled"
    # Fulfilment itself moved the event, before anyone read it.
    assert stored_stage(event_id) == ("offset", True)
    event = client.get(url, headers=org["headers"]).json["event"]
    assert event["stage"] == "offset" and event["offset_at"] is not None
    declared = client.post(f"{url}/declare", headers=org["headers"])
    assert declared.status_code == 200 and declared.json["event"]["stage"] == "declared"

    code = publish(client, org, event_id)
    public = client.get(f"/api/v1/public/events/{code}")
    assert public.status_code == 200
    body = public.json
    assert body["neutral"] is True and body["actual"]["total_grams"] == ACTUAL_G
    assert body["estimate"]["total_grams"] == ESTIMATE_G
    assert sum(s["grams"] for s in body["actual"]["sources"]) == ACTUAL_G
    assert {s["factor_source"] for s in body["actual"]["sources"]} >= {CUSTOM}
    versions = {s["factor_key"]: s["factor_set_version"] for s in body["actual"]["sources"]}
    assert versions.pop("custom") is None and set(versions.values()) == {library.version}
    credits = body["offset"]["credits"]
    assert credits["grams"] == _offset_grams()
    assert sum(s["grams"] for s in credits["serials"]) == _offset_grams()
    assert {s["retirement"] for s in credits["serials"]} == {"pending"}
    assert {s["mode"]: s["attendees"] for s in body["actual"]["travel_by_mode"]} == {
        "car": 1,
        "flight": 1,
        "hsr": 5,
    }

    page = client.get(f"/events/{code}/disclosure")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "海峡论坛" in html and credits["serials"][0]["serial"] in html
    assert "已实现碳中和" in html and 'name="viewport"' in html
    assert f"factor set v{library.version} · electricity.grid.east" in html

    pdf = client.get(f"{url}/certificate.pdf", headers=org["headers"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = flat(PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text())  # a label, then its value
    assert f"Neutralise by {body['offset_deadline']}" in text
    assert f"Factor sets v{library.version} + organiser-cited" in text
    assert f"/events/{code}/disclosure" in text  # the printed link opens the page by its code


def test_offset_paid_by_bank_transfer_confirmed_by_an_admin(client, org):
    project_id, _ = stock_pool(tonnes=10)
    _, url = _accounted(client, org)
    placed = client.post(
        f"{url}/offset", json={"project_id": project_id, "payment": "bank_transfer"}, headers=org["headers"]
    )
    assert placed.status_code == 201, placed.json
    order = placed.json["order"]
    assert order["provider"] == "bank_transfer" and order["status"] == "created"
    transfer = placed.json["bank_transfer"]
    assert transfer["reference"] == order["out_trade_no"] and transfer["amount_fen"] == 80_560
    from datetime import datetime

    assert datetime.fromisoformat(order["expires_at"]) > utcnow() + timedelta(days=7)

    confirm = f"/api/v1/admin/orders/{order['out_trade_no']}/confirm-transfer"
    assert (
        client.post(
            confirm, json={"reference": "X1", "amount_fen": 80_560}, headers=org["headers"]
        ).status_code
        == 403
    )
    short = client.post(confirm, json={"reference": "ICBC-778", "amount_fen": 80_000}, headers=org["admin"])
    assert short.status_code == 422
    done = client.post(confirm, json={"reference": "ICBC-778", "amount_fen": 80_560}, headers=org["admin"])
    assert done.status_code == 200, done.json
    assert done.json["outcome"] == "fulfilled"
    assert done.json["order"]["status"] == "fulfilled"
    assert done.json["order"]["transaction_id"] == "BANK-ICBC-778"
    assert stored_stage(int(url.rsplit("/", 1)[1])) == ("offset", True)
    replay = client.post(confirm, json={"reference": "ICBC-778", "amount_fen": 80_560}, headers=org["admin"])
    assert replay.json["outcome"] == "duplicate"
    assert client.post(f"{url}/declare", headers=org["headers"]).json["event"]["stage"] == "declared"
    # WeChat Pay cannot refund it: an admin's refund is recorded offline, to be paid back by bank.
    refund = client.post(
        f"/api/v1/admin/orders/{order['out_trade_no']}/refunds",
        json={"reason": "cancelled"},
        headers=org["admin"],
    )
    assert refund.status_code == 201 and refund.json["offline"] is True
    assert refund.json["status"] == "processing"

    audit = client.get("/api/v1/admin/audit-log?action=order.confirm_transfer", headers=org["admin"])
    assert audit.status_code == 200
    entries = [e for e in audit.json if e["action"] == "order.confirm_transfer"]
    assert [e["after"]["outcome"] for e in entries] == ["duplicate", "fulfilled"]


def test_a_wechat_order_cannot_be_confirmed_as_a_transfer(client, org):
    project_id, _ = stock_pool(tonnes=10)
    _, url = _accounted(client, org)
    order = client.post(f"{url}/offset", json={"project_id": project_id}, headers=org["headers"]).json[
        "order"
    ]
    response = client.post(
        f"/api/v1/admin/orders/{order['out_trade_no']}/confirm-transfer",
        json={"reference": "R", "amount_fen": order["amount_fen"]},
        headers=org["admin"],
    )
    assert response.status_code == 409


def test_a_bank_transfer_order_is_settled_by_transfer_not_through_wechat_pay(client, org):
    project_id, _ = stock_pool(tonnes=10)
    _, url = _accounted(client, org)
    order = client.post(
        f"{url}/offset", json={"project_id": project_id, "payment": "bank_transfer"}, headers=org["headers"]
    ).json["order"]
    number = order["out_trade_no"]

    synced = client.post(f"/api/v1/admin/orders/{number}/sync", headers=org["admin"])
    opened = client.post(f"/api/v1/orders/{number}/payment", headers=org["headers"])
    paid = client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=org["headers"])

    for refused in (synced, opened, paid):
        assert refused.status_code == 409, refused.json
        assert "settled by bank transfer" in refused.json["message"]
    assert client.get(f"/api/v1/orders/{number}", headers=org["headers"]).json["status"] == "created"


def _accounted_on(client, org, end_date):
    event = create_event(client, org, start_date=end_date.isoformat(), end_date=end_date.isoformat())
    url = f"/api/v1/events/{event['id']}"
    body, _ = ACTUAL_SOURCES[0]
    assert (
        client.post(f"{url}/sources", json={"phase": "actual", **body}, headers=org["headers"]).status_code
        == 201
    )
    assert client.post(f"{url}/account", headers=org["headers"]).status_code == 200
    return event, url


def test_an_event_is_neutralised_within_one_year_of_its_end(client, org, monkeypatch):
    project_id, _ = stock_pool(tonnes=10)
    event, url = _accounted_on(client, org, date(2025, 6, 30))
    assert event["offset_deadline"] == "2026-06-30"

    # On the deadline itself (Beijing date) the event may still be offset.
    monkeypatch.setattr(beijing_time, "today", lambda: date(2026, 6, 30))
    assert client.get(f"{url}/offset-quote", headers=org["headers"]).status_code == 200

    # The day after: too late for a quote and for an order, with the deadline named.
    monkeypatch.setattr(beijing_time, "today", lambda: date(2026, 7, 1))
    quote = client.get(f"{url}/offset-quote", headers=org["headers"])
    assert quote.status_code == 422 and quote.json["error"] == "deadline_passed"
    assert "2026-06-30" in quote.json["message"] and "end_date" in quote.json["errors"]
    placed = client.post(f"{url}/offset", json={"project_id": project_id}, headers=org["headers"])
    assert placed.status_code == 422 and placed.json["error"] == "deadline_passed"
    catalogue = client.get(f"/api/v1/catalogue/projects/{project_id}").json
    assert catalogue["available_g"] == 10_000_000  # nothing was reserved

    assert client.get(url, headers=org["headers"]).json["event"]["offset_deadline"] == "2026-06-30"
    code = publish(client, org, event["id"])
    assert client.get(f"/api/v1/public/events/{code}").json["offset_deadline"] == "2026-06-30"
    assert "2026-06-30" in client.get(f"/events/{code}/disclosure").get_data(as_text=True)


def test_the_deadline_of_an_event_ending_on_29_february_is_28_february():
    assert one_year_after(date(2028, 2, 29)) == date(2029, 2, 28)
    assert one_year_after(date(2027, 3, 1)) == date(2028, 3, 1)


def test_an_order_paid_before_the_event_names_it_still_moves_the_event(client, org, monkeypatch):
    """The payment lands between placing the order and recording it on the event."""
    from services.sales import credit_purchase
    from services.settlement import payment_flow

    project_id, _ = stock_pool(tonnes=10)
    event_id, url = _accounted(client, org)
    buy = credit_purchase.buy

    def buy_then_pay(*args, **kwargs):
        purchase = buy(*args, **kwargs)
        provider = kwargs["provider"]
        notification = provider.complete(purchase.order.out_trade_no, purchase.order.amount_fen)
        policy = client.application.extensions["carbon.runtime"].order_policy
        assert (
            payment_flow.handle_payment_notification(notification, provider.name, policy).outcome
            == "fulfilled"
        )
        assert stored_stage(event_id) == ("accounted", False)  # the event did not name the order yet
        return purchase

    monkeypatch.setattr(credit_purchase, "buy", buy_then_pay)
    placed = client.post(f"{url}/offset", json={"project_id": project_id}, headers=org["headers"])
    assert placed.status_code == 201, placed.json
    assert stored_stage(event_id) == ("offset", True)


def test_a_fully_refunded_offset_returns_the_event_to_accounted(client, org):
    project_id, _ = stock_pool(tonnes=10)
    event_id, url = _accounted(client, org)
    order = client.post(f"{url}/offset", json={"project_id": project_id}, headers=org["headers"]).json[
        "order"
    ]
    client.post(f"/api/v1/sandbox/orders/{order['out_trade_no']}/pay", headers=org["headers"])
    assert stored_stage(event_id) == ("offset", True)

    refund = client.post(
        f"/api/v1/admin/orders/{order['out_trade_no']}/refunds",
        json={"reason": "cancelled"},
        headers=org["admin"],
    )
    assert refund.status_code == 201 and refund.json["status"] == "succeeded", refund.json
    assert stored_stage(event_id) == ("accounted", False)
    assert client.post(f"{url}/declare", headers=org["headers"]).status_code == 409
    again = client.post(f"{url}/offset", json={"project_id": project_id}, headers=org["headers"])
    assert again.status_code == 201 and again.json["order"]["out_trade_no"] != order["out_trade_no"]
