"""Through gunicorn, with rate limits on and logs at INFO: no credential or personal identifier
reaches a log line, an access-log path or a Redis key.

The run logs users and an admin in (API and console), orders past the order limit, redeems past the
redemption limit, guesses the admin password, reads as a bank partner (and forges a read), spells
the same token differently, and logs out. Then every line the service wrote and every Redis key is
searched for each secret it used.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import requests

from services.accounts.accounts import create_admin
from services.accounts.wechat_client import sandbox_session
from tests.support.live import live_service
from tests.support.pool import stock_pool
from tests.support.rewards import create_item, give_points, signed_headers

pytestmark = pytest.mark.postgres

TIMEOUT_S = 15


def _login(base: str, code: str) -> str:
    answer = requests.post(f"{base}/api/v1/auth/login", json={"code": code}, timeout=TIMEOUT_S)
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def _console_cookie(base: str, username: str, password: str) -> str:
    browser = requests.Session()
    form = browser.get(f"{base}/console/login", timeout=TIMEOUT_S).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    signed_in = browser.post(
        f"{base}/console/login",
        data={"username": username, "password": password, "csrf_token": csrf},
        allow_redirects=False,
        timeout=TIMEOUT_S,
    )
    assert signed_in.status_code == 302, signed_in.text
    assert browser.get(f"{base}/console/", timeout=TIMEOUT_S).status_code == 200
    return browser.cookies.get("session")


def _exercise(base: str, admin_password: str, item_id: int, bob_earns_points) -> dict[str, list[str]]:
    """Drive the service as users, an admin and a partner would; the secrets used, by kind."""
    statuses: list[int] = []
    used: dict[str, list[str]] = {}
    alice, bob = _login(base, "scan-alice"), _login(base, "scan-bob")
    used["token"] = [alice, bob]
    for variant in (f"Bearer {alice}", f"Bearer  {alice}", f"Bearer {alice} ", f"Bearer {alice}x"):
        statuses.append(
            requests.get(
                f"{base}/api/v1/me", headers={"Authorization": variant}, timeout=TIMEOUT_S
            ).status_code
        )

    for spelling in ("Bearer {}", "Bearer  {}") * 3:  # past ORDER_RATE_LIMIT, both spellings
        answer = requests.post(
            f"{base}/api/v1/orders",
            json={"product": "one_yuan", "units": 1},
            headers={"Authorization": spelling.format(alice), "Idempotency-Key": uuid.uuid4().hex},
            timeout=TIMEOUT_S,
        )
        statuses.append(answer.status_code)
        if answer.status_code == 201:
            paid = requests.post(
                f"{base}/api/v1/sandbox/orders/{answer.json()['order']['out_trade_no']}/pay",
                headers={"Authorization": f"Bearer {alice}"},
                timeout=TIMEOUT_S,
            )
            statuses.append(paid.status_code)

    bob_earns_points()
    for _ in range(4):  # past REDEEM_RATE_LIMIT
        statuses.append(
            requests.post(
                f"{base}/api/v1/rewards/{item_id}/redeem",
                json={},
                headers={"Authorization": f"Bearer {bob}", "Idempotency-Key": uuid.uuid4().hex},
                timeout=TIMEOUT_S,
            ).status_code
        )

    for guess in ("wrong-1", "wrong-2", admin_password):
        answer = requests.post(
            f"{base}/api/v1/auth/admin-login",
            json={"username": "scan-admin", "password": guess},
            timeout=TIMEOUT_S,
        )
        statuses.append(answer.status_code)
    assert answer.status_code == 200, answer.text
    admin = answer.json()["token"]
    used["token"].append(admin)
    used["password"] = [admin_password]
    used["cookie"] = [_console_cookie(base, "scan-admin", admin_password)]

    partner = requests.post(
        f"{base}/api/v1/admin/partners",
        json={"name": "扫描银行"},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=TIMEOUT_S,
    ).json()
    used["partner secret"] = [partner["secret"]]
    consent = requests.post(
        f"{base}/api/v1/me/consents",
        json={"partner_id": partner["id"], "scopes": ["tier"], "expires_at": _in_days(30)},
        headers={"Authorization": f"Bearer {bob}"},
        timeout=TIMEOUT_S,
    )
    assert consent.status_code == 201, consent.text
    bob_openid = sandbox_session("scan-bob").openid
    path = "/api/v1/partner/carbon-reads"
    for secret in (partner["secret"], "forged-" + partner["secret"]):
        body = json.dumps({"user": bob_openid}).encode()
        answer = requests.post(
            base + path,
            data=body,
            headers={
                **signed_headers(partner["key_id"], secret, "POST", path, body),
                "Content-Type": "application/json",
            },
            timeout=TIMEOUT_S,
        )
        statuses.append(answer.status_code)
    assert statuses[-2:] == [200, 401], statuses

    statuses.append(
        requests.post(
            f"{base}/api/v1/auth/logout", headers={"Authorization": f"Bearer {alice}"}, timeout=TIMEOUT_S
        ).status_code
    )
    assert 429 in statuses and 401 in statuses, statuses  # refusals were logged, not only successes
    used["openid"] = [sandbox_session(code).openid for code in ("scan-alice", "scan-bob")]
    used["session key"] = [sandbox_session(code).session_key for code in ("scan-alice", "scan-bob")]
    return used


def _in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def _found(text: str, used: dict[str, list[str]]) -> list[str]:
    return [f"{kind} {value[:6]}…" for kind, values in used.items() for value in values if value in text]


def test_no_secret_reaches_a_log_line_an_access_path_or_a_redis_key(
    pg_app, pg_url, redis_url, tmp_path: Path
):
    stock_pool(tonnes=1)
    admin_password = "scan-" + secrets.token_urlsafe(12)
    create_admin("scan-admin", admin_password)
    item_id = create_item(cost_points=10)
    access_log = tmp_path / "access.log"

    def bob_earns_points() -> None:
        from sqlalchemy import select

        from models import User
        from models.database import unit_of_work

        with unit_of_work() as session:
            bob_id = session.scalar(select(User.id).where(User.openid == sandbox_session("scan-bob").openid))
        give_points(bob_id, 100)

    with live_service(
        pg_url,
        redis_url,
        tmp_path,
        workers=2,
        RATELIMIT_ENABLED="true",
        ORDER_RATE_LIMIT="3 per minute",
        REDEEM_RATE_LIMIT="2 per minute",
        LOG_LEVEL="INFO",
        GUNICORN_ACCESSLOG=str(access_log),
    ) as server:
        used = _exercise(server.base, admin_password, item_id, bob_earns_points)
    time.sleep(0.2)

    lines = (tmp_path / "gunicorn.log").read_text(errors="replace") + access_log.read_text(errors="replace")
    assert "/api/v1/orders" in lines and " 429 " in lines  # the access log was written
    assert not _found(lines, used), _found(lines, used)

    store = redis.Redis.from_url(redis_url)
    keys = [key.decode(errors="replace") for key in store.scan_iter(count=1000)]
    assert any(key.startswith("LIMITS") for key in keys)  # the limiter kept its buckets here
    assert not _found("\n".join(keys), used), _found("\n".join(keys), used)
    # Values too: a session key lives only under its own key, nothing else holds a credential.
    for key in keys:
        if store.type(key) == b"string" and not key.startswith("wx:session_key:"):
            value = store.get(key).decode(errors="replace")
            assert not _found(value, used), (key, _found(value, used))
