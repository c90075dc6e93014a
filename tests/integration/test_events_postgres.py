"""On PostgreSQL: an event accounted from an attendee list, offset by bank transfer, disclosed."""

from __future__ import annotations

import threading

import pytest

from tests.api.test_events import ACTUAL_G, _accounted
from tests.support.events import organiser
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
    client.patch(url, json={"published": True}, headers=org["headers"])
    body = client.get(f"/api/v1/public/events/{event_id}").json
    assert body["neutral"] is True and body["offset"]["credits"]["grams"] == order["grams"]
    catalogue = client.get(f"/api/v1/catalogue/projects/{project_id}").json
    assert catalogue["available_g"] == 10_000_000 - order["grams"]
