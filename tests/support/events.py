"""Organisations with an organiser, and events, set up through the HTTP API as a client would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from services.kernel import beijing_time
from tests.support.accounts import bearer, login_admin, login_user


def organiser(
    client: FlaskClient, code: str, organisation: str, admin_token: str | None = None
) -> dict[str, Any]:
    """Log a user in and make them the owner (first organiser) of a new organisation."""
    token, user = login_user(client, code)
    admin_token = admin_token or login_admin(client)[0]
    created = client.post(
        "/api/v1/admin/organisations",
        json={"name": organisation, "kind": "event_organiser", "owner_id": user["id"]},
        headers=bearer(admin_token),
    )
    assert created.status_code == 201, created.json
    return {"headers": bearer(token), "organisation_id": created.json["id"], "admin": bearer(admin_token)}


def create_event(client: FlaskClient, who: dict[str, Any], **body: Any) -> dict[str, Any]:
    """Plan an event (by default one that ended yesterday, in Beijing time) and give its JSON."""
    today = beijing_time.today()
    plan = {
        "name": "海峡论坛",
        "start_date": (today - timedelta(days=2)).isoformat(),
        "end_date": (today - timedelta(days=1)).isoformat(),
        "venue_city": "福州",
        "expected_attendees": 8,
        **body,
    }
    response = client.post(
        f"/api/v1/organisations/{who['organisation_id']}/events", json=plan, headers=who["headers"]
    )
    assert response.status_code == 201, response.json
    return response.json["event"]


def upload(
    client: FlaskClient,
    who: dict[str, Any],
    event_id: int,
    text: str,
    phase: str = "actual",
    append: bool = False,
):
    """Upload an attendee list; `append` adds its rows to the phase's list instead of replacing it."""
    import io

    return client.post(
        f"/api/v1/events/{event_id}/attendees?phase={phase}&append={'true' if append else 'false'}",
        data={"file": (io.BytesIO(text.encode("utf-8")), "attendees.csv")},
        headers=who["headers"],
        content_type="multipart/form-data",
    )


def publish(client: FlaskClient, who: dict[str, Any], event_id: int) -> str:
    """Publish the event's disclosure; gives its public code (the key of the public pages)."""
    response = client.patch(f"/api/v1/events/{event_id}", json={"published": True}, headers=who["headers"])
    assert response.status_code == 200, response.json
    return response.json["event"]["public_code"]


def account_venue_electricity(client: FlaskClient, who: dict[str, Any], event_id: int) -> None:
    """Give the event one actual source (1,000 kWh of venue electricity on the east grid) and account it."""
    url = f"/api/v1/events/{event_id}"
    source = {"phase": "actual", "kind": "venue_electricity", "activity": "1000"}
    added = client.post(
        f"{url}/sources", json={**source, "factor_key": "electricity.grid.east"}, headers=who["headers"]
    )
    assert added.status_code == 201, added.json
    assert client.post(f"{url}/account", headers=who["headers"]).status_code == 200


def offset_and_pay(client: FlaskClient, who: dict[str, Any], event_id: int, project_id: int) -> str:
    """Offset the accounted event from `project_id` and pay it in the sandbox; gives the order's number."""
    order = client.post(
        f"/api/v1/events/{event_id}/offset", json={"project_id": project_id}, headers=who["headers"]
    ).json
    number = order["order"]["out_trade_no"]
    assert client.post(f"/api/v1/sandbox/orders/{number}/pay", headers=who["headers"]).status_code == 200
    return number
