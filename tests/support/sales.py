"""Sales through the HTTP API on the sandbox provider: place an order and pay it."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from models import Batch, Project
from models.database import unit_of_work
from tests.factories import make_batch


def buy(client: FlaskClient, headers: dict[str, str], units: int | None = None, **body: Any) -> str:
    """Place a one-yuan order of `units` (or a credit order, given `product`) and pay it; gives its number."""
    payload = {"product": "one_yuan", "units": units, **body} if units is not None else body
    placed = client.post("/api/v1/orders", json=payload, headers=headers)
    assert placed.status_code == 201, placed.json
    number = placed.json["order"]["out_trade_no"]
    paid = client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=headers)
    assert paid.status_code == 200 and paid.json["status"] == "fulfilled", paid.json
    return number


def add_batch(project_id: int, tonnes: int, vintage: int = 2017) -> int:
    """Add a batch of `tonnes` to a project; gives its id."""
    with unit_of_work() as session:
        return make_batch(session, session.get(Project, project_id), tonnes, vintage=vintage).id


def batch_grams(batch_id: int) -> dict[str, int]:
    with unit_of_work() as session:
        batch = session.get(Batch, batch_id)
        return {"sold_g": batch.sold_g, "retired_g": batch.retired_g, "available_g": batch.available_g}


def offset_footprint(client: FlaskClient, headers: dict[str, str], holder_name: str) -> str:
    """Calculate a month's footprint (Fujian, 100 kWh), offset it in one tap and pay; gives the order's number.

    The factor library must be published first (`tests.support.factors.publish_library`)."""
    footprint = client.post(
        "/api/v1/footprints/calculate",
        json={
            "period_type": "month",
            "period_start": "2026-10-15",
            "province": "福建",
            "home": {"electricity_kwh": 100},
        },
        headers=headers,
    )
    assert footprint.status_code == 201, footprint.json
    placed = client.post(
        f"/api/v1/me/footprints/{footprint.json['id']}/offset",
        json={"holder_name": holder_name},
        headers=headers,
    )
    assert placed.status_code == 201, placed.json
    number = placed.json["order"]["out_trade_no"]
    assert client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=headers).status_code == 200
    return number
