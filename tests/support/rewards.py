"""Builders for reward and partner tests: members with WeChat ids, points, items, signed partner requests."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from models import User
from models.database import unit_of_work
from services.accounts.tokens import issue_token_in
from services.points import points
from services.rewards import rewards_admin


def make_member(name: str, openid: str | None = None, unionid: str | None = None) -> int:
    """A mini-program user (openid defaults to one derived from `name`)."""
    with unit_of_work() as session:
        user = User(openid=openid or f"o-{name}", unionid=unionid, display_name=name)
        session.add(user)
        session.flush()
        return user.id


def headers_for(user_id: int) -> dict[str, str]:
    with unit_of_work() as session:
        token = issue_token_in(session, session.get(User, user_id), 3600).token
    return {"Authorization": f"Bearer {token}"}


def give_points(user_id: int, amount: int, source_id: str | None = None) -> None:
    """Award `amount` points, spendable at once."""
    with unit_of_work() as session:
        points.award(session, user_id, amount, "order", source_id or secrets.token_hex(8), "test award")


def create_item(**fields: Any) -> int:
    data = {"kind": "gift", "name": "Bamboo toothbrush", "cost_points": 100, **fields}
    return rewards_admin.create_item(None, data).id


def redeem(client: FlaskClient, headers: dict[str, str], item_id: int, key: str | None = None, **body: Any):
    """POST a redemption with an Idempotency-Key (a fresh one unless given)."""
    return client.post(
        f"/api/v1/rewards/{item_id}/redeem",
        json=body,
        headers={**headers, "Idempotency-Key": key or secrets.token_hex(16)},
    )


def signed_headers(
    key_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes = b"",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Headers of a partner request signed as the partner documentation says (written independently of the server)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    canonical = "\n".join([method, path, hashlib.sha256(body).hexdigest(), stamp, nonce])
    signature = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return {"X-Partner-Key": key_id, "X-Timestamp": stamp, "X-Nonce": nonce, "X-Signature": signature}


CARBON_READS = "/api/v1/partner/carbon-reads"


def carbon_read_body(user: str, scopes: list[str] | None = None) -> bytes:
    """The JSON body of a partner read: the user, and the scopes when given."""
    return json.dumps({"user": user, **({} if scopes is None else {"scopes": scopes})}).encode()


def read_carbon(
    client: FlaskClient,
    key_id: str,
    secret: str,
    user: str,
    scopes: list[str] | None = None,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> TestResponse:
    """POST a signed partner read of `user` (openid or unionid), as a bank would send it."""
    body = carbon_read_body(user, scopes)
    headers = signed_headers(key_id, secret, "POST", CARBON_READS, body, timestamp, nonce)
    return client.post(CARBON_READS, data=body, headers=headers, content_type="application/json")
