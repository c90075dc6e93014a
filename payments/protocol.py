"""Small pieces the WeChat Pay protocols share: Beijing time, nonces, headers, callback answers."""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

from payments.interface import CallbackAck

# China has had no daylight saving time since 1991: a fixed offset is exact.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def signs_match(given: str, expected: str) -> bool:
    """Whether a received sign equals the expected one, in constant time.

    Compared as UTF-8 bytes: `hmac.compare_digest` raises TypeError on a str holding non-ASCII, and a
    sign is whatever the sender wrote.
    """
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))


def nonce(length: int = 32) -> str:
    """A random string of letters and digits (hexadecimal), as WeChat Pay's `nonce_str` / `nonceStr`."""
    return secrets.token_hex(length // 2)


def rfc3339_beijing(moment: datetime) -> str:
    """`2024-05-01T12:00:00+08:00`, the form APIv3 wants for times."""
    return moment.astimezone(BEIJING).replace(microsecond=0).isoformat()


def parse_rfc3339(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def parse_compact_beijing(value: str | None) -> datetime | None:
    """APIv2's `20240501120000` or `2024-05-01 12:00:00`, both Beijing time."""
    if not value:
        return None
    for pattern in ("%Y%m%d%H%M%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=BEIJING)
        except ValueError:
            continue
    return None


def utc_now() -> datetime:
    return datetime.now(UTC)


def header_lookup(headers: Mapping[str, str], name: str) -> str:
    """A header by name, whatever the case of the mapping's keys (or WSGI's HTTP_X_Y form)."""
    wanted = name.lower()
    wsgi = "http_" + wanted.replace("-", "_")
    for key, value in headers.items():
        if key.lower() in (wanted, wsgi):
            return value
    return ""


def json_ack(ok: bool, message: str = "") -> CallbackAck:
    """APIv3: 200 to accept; a 4xx with `{"code": "FAIL"}` refuses it, and WeChat Pay sends it again.

    WeChat Pay retries on a 4xx as on a 5xx; a refusal (not genuine, not the order's) is the
    sender's fault, so it is a 400. The callback view answers 500 itself when ours failed.
    """
    if ok:
        return CallbackAck(json.dumps({"code": "SUCCESS", "message": "OK"}).encode(), 200, "application/json")
    body = {"code": "FAIL", "message": message or "FAIL"}
    return CallbackAck(json.dumps(body, ensure_ascii=False).encode(), 400, "application/json")


def xml_ack(ok: bool, message: str = "") -> CallbackAck:
    """APIv2: always HTTP 200; `return_code` FAIL makes WeChat Pay send it again."""
    code = "SUCCESS" if ok else "FAIL"
    text = (message or ("OK" if ok else "FAIL")).replace("]]>", "")  # CDATA cannot hold "]]>"
    body = (
        f"<xml><return_code><![CDATA[{code}]]></return_code><return_msg><![CDATA[{text}]]></return_msg></xml>"
    )
    return CallbackAck(body.encode(), 200, "text/xml; charset=utf-8")
