"""Organisers joining an organisation the way people do: invited by the owner, then accepting."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.support.accounts import bearer


def invite(client: FlaskClient, manager_token: str, organisation_id: int, user_id: int | None = None):
    """Invite `user_id` (or anyone holding the code) to the organisation; gives the response."""
    body = {} if user_id is None else {"user_id": user_id}
    return client.post(
        f"/api/v1/organisations/{organisation_id}/invitations", json=body, headers=bearer(manager_token)
    )


def invite_and_accept(
    client: FlaskClient, manager_token: str, organisation_id: int, user_token: str, user_id: int
) -> dict[str, Any]:
    """Invite the user by id and have them accept it from their invitations; gives the acceptance."""
    invited = invite(client, manager_token, organisation_id, user_id)
    assert invited.status_code == 201, invited.json
    invitation_id = invited.json["invitation"]["id"]
    accepted = client.post(f"/api/v1/me/invitations/{invitation_id}/accept", headers=bearer(user_token))
    assert accepted.status_code == 200, accepted.json
    return accepted.json
