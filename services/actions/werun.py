"""WeChat WeRun data: decrypt the mini-program's `{encryptedData, iv}` and read its daily steps.

`wx.getWeRunData` gives AES-128-CBC ciphertext (PKCS#7 padding) whose key is the user's session
key; wechatpy's `WeChatWxaCrypto` decrypts it and checks the watermark's appid. The plaintext is
`{"stepInfoList": [{"timestamp": <Beijing midnight, unix s>, "step": n}, ...], "watermark":
{"appid", "timestamp"}}` for the last 30 days or so.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from wechatpy.crypto import WeChatWxaCrypto
from wechatpy.exceptions import InvalidAppIdException

from services.kernel.beijing_time import beijing_date
from services.kernel.errors import ValidationFailed

# The watermark may be a little ahead of this server's clock.
CLOCK_SKEW_S = 300
MAX_DAYS_IN_PAYLOAD = 62


class UndecryptableWeRunData(ValidationFailed):
    """The payload does not decrypt with the user's session key, or is not WeRun data of this app."""

    code = "werun_undecryptable"


class StaleWeRunData(ValidationFailed):
    code = "werun_stale"


@dataclass(frozen=True)
class WeRunDay:
    day: date
    steps: int


@dataclass(frozen=True)
class WeRunData:
    days: tuple[WeRunDay, ...]  # by date, one per date
    watermark_at: datetime


def payload_hash(encrypted_data: str) -> str:
    """The replay key of a payload: SHA-256 of its `encryptedData` as sent."""
    return hashlib.sha256(encrypted_data.strip().encode()).hexdigest()


def _undecryptable(message: str) -> UndecryptableWeRunData:
    return UndecryptableWeRunData(message, errors={"encryptedData": [message]})


def _decrypt(encrypted_data: str, iv: str, session_key: str, appid: str) -> dict[str, Any]:
    try:
        plain = WeChatWxaCrypto(session_key, iv, appid).decrypt_message(encrypted_data)
    except InvalidAppIdException:
        raise _undecryptable("This WeRun data was issued to another mini-program.") from None
    # A wrong key or a tampered payload decrypts to bytes that are not JSON (ValueError covers bad
    # base64, key or IV sizes, UTF-8 and JSON); one that lacks a watermark fails on the lookup.
    except (ValueError, KeyError, TypeError, IndexError):
        raise _undecryptable(
            "The WeRun data cannot be decrypted with your WeChat session; call wx.login and "
            "wx.getWeRunData again."
        ) from None
    if not isinstance(plain, dict):
        raise _undecryptable("The WeRun data is not an object.")
    return plain


def _watermark_time(plain: dict[str, Any], now: datetime, max_age_s: int) -> datetime:
    stamp = plain["watermark"].get("timestamp") if isinstance(plain.get("watermark"), dict) else None
    if not isinstance(stamp, int) or isinstance(stamp, bool):
        raise _undecryptable("The WeRun data has no watermark timestamp.")
    age = now.timestamp() - stamp
    if age > max_age_s:
        message = "This WeRun data is stale; call wx.getWeRunData again and send it at once."
        raise StaleWeRunData(message, errors={"encryptedData": [message]}, age_s=int(age))
    if age < -CLOCK_SKEW_S:
        raise _undecryptable("The WeRun watermark lies in the future.")
    return datetime.fromtimestamp(stamp, UTC)


def _days(plain: dict[str, Any]) -> tuple[WeRunDay, ...]:
    items = plain.get("stepInfoList")
    if not isinstance(items, list) or len(items) > MAX_DAYS_IN_PAYLOAD:
        raise _undecryptable("The WeRun data has no valid stepInfoList.")
    steps_by_day: dict[date, int] = {}
    for item in items:
        stamp = item.get("timestamp") if isinstance(item, dict) else None
        steps = item.get("step") if isinstance(item, dict) else None
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (stamp, steps)) or steps < 0:
            raise _undecryptable("A stepInfoList entry is not {timestamp, step} with whole numbers.")
        try:
            day = beijing_date(datetime.fromtimestamp(stamp, UTC))
        except (OverflowError, OSError, ValueError):
            raise _undecryptable("A stepInfoList timestamp is out of range.") from None
        steps_by_day[day] = max(steps, steps_by_day.get(day, 0))
    return tuple(WeRunDay(day, steps) for day, steps in sorted(steps_by_day.items()))


def read_werun(
    encrypted_data: str, iv: str, session_key: str, appid: str, now: datetime, max_age_s: int
) -> WeRunData:
    """Decrypt and check a WeRun payload; raises `UndecryptableWeRunData` or `StaleWeRunData` (422)."""
    plain = _decrypt(encrypted_data, iv, session_key, appid)
    watermark_at = _watermark_time(plain, now, max_age_s)
    return WeRunData(_days(plain), watermark_at)
