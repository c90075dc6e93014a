"""Log users and admins in through the HTTP API, as a client would."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from services.accounts.accounts import create_admin

ADMIN_PASSWORD = "correct horse battery staple"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login_user(client: FlaskClient, code: str = "user-code") -> tuple[str, dict[str, Any]]:
    """Log a mini-program user in with a sandbox login code (the testing default); gives (token, user)."""
    response = client.post("/api/v1/auth/login", json={"code": code})
    assert response.status_code == 200, response.json
    return response.json["token"], response.json["user"]


def login_admin(client: FlaskClient, username: str = "root") -> tuple[str, dict[str, Any]]:
    """Create the admin `username` and log it in; gives (token, user)."""
    create_admin(username, ADMIN_PASSWORD)
    response = client.post(
        "/api/v1/auth/admin-login", json={"username": username, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.json
    return response.json["token"], response.json["user"]
