"""On PostgreSQL: an event accounted from an attendee list, offset by bank transfer, disclosed."""

from __future__ import annotations

import threading

import pytest

from services.pool.pool_audit import run_audit
from tests.api.test_events import ACTUAL_G, _accounted
from tests.support.concurrency import run_together
from tests.support.events import organiser, publish
from tests.support.factors import publish_library
from tests.support.pool import stock_pool

pytestmark = pytest.mark.postgres


def test_bank_transfer_offset_and_disclosure_on_postgres(pg_client):
    client = pg_client
    publish_library()
    org = organiser(client, "pg-organiser", "海峡会展中心")
    project_id, _ = stock_pool(tonnes=10)
    event_id, url = _accounted(client, org)
    assert client.get(url, headers=org["headers"]).json["totals"]["actual"] == ACTUAL_G

    # Two offset requests at once: one order, the other refused; no grams left reserved by the loser.
    answers = []

    def place():
        answers.append(
            client.post(
                f"{url}/offset",
                json={"project_id": project_id, "payment": "bank_transfer"},
                headers=org["headers"],
            )
        )

    threads = [threading.Thread(target=place) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409], [a.json for a in answers]
    order = next(a for a in answers if a.status_code == 201).json["order"]

    confirmed = client.post(
        f"/api/v1/admin/orders/{order['out_trade_no']}/confirm-transfer",
        json={"reference": "CCB-42", "amount_fen": order["amount_fen"]},
        headers=org["admin"],
    )
    assert confirmed.status_code == 200 and confirmed.json["outcome"] == "fulfilled"
    assert client.post(f"{url}/declare", headers=org["headers"]).status_code == 200
    code = publish(client, org, event_id)
    body = client.get(f"/api/v1/public/events/{code}").json
    assert body["neutral"] is True and body["offset"]["credits"]["grams"] == order["grams"]
    catalogue = client.get(f"/api/v1/catalogue/projects/{project_id}").json
    assert catalogue["available_g"] == 10_000_000 - order["grams"]


def test_an_offline_refund_recorded_paid_out_twice_at_once_returns_its_grams_once(pg_client):
    client = pg_client
    publish_library()
    org = organiser(client, "pg-organiser", "海峡会展中心")
    project_id, _ = stock_pool(tonnes=10)
    _, url = _accounted(client, org)
    order = client.post(
        f"{url}/offset", json={"project_id": project_id, "payment": "bank_transfer"}, headers=org["headers"]
    ).json["order"]
    number = order["out_trade_no"]
    client.post(
        f"/api/v1/admin/orders/{number}/confirm-transfer",
        json={"reference": "CCB-42", "amount_fen": order["amount_fen"]},
        headers=org["admin"],
    )
    recorded = client.post(
        f"/api/v1/admin/orders/{number}/refunds",
        json={"grams": 2_000_000, "reason": "two fewer tonnes"},
        headers=org["admin"],
    ).json
    assert recorded["status"] == "processing" and recorded["offline"] is True

    answers = run_together(
        lambda _: client.post(
            f"/api/v1/admin/orders/{number}/refunds/{recorded['out_refund_no']}/paid-out",
            json={"bank_reference": "CCB-RF-7"},
            headers=org["admin"],
        ),
        2,
    )
    assert [a.status_code for a in answers] == [200, 200], [a.json for a in answers]
    assert {a.json["status"] for a in answers} == {"succeeded"}
    catalogue = client.get(f"/api/v1/catalogue/projects/{project_id}").json
    assert catalogue["available_g"] == 10_000_000 - order["grams"] + 2_000_000
    paid_out = client.get("/api/v1/admin/audit-log?action=refund.paid_out", headers=org["admin"]).json
    assert len([e for e in paid_out if e["action"] == "refund.paid_out"]) == 1
    assert list(run_audit()) == []
