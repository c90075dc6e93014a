"""Real WeRun payloads, encrypted the way WeChat does: AES-128-CBC, PKCS#7, key = the base64 session key."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from services.accounts.accounts import session_key_name
from services.kernel.beijing_time import BEIJING, today
from services.kernel.redis_store import get_redis

APPID = "wxwerun0000000001"


def new_session_key() -> str:
    return base64.b64encode(os.urandom(16)).decode()


def give_session_key(user_id: int, session_key: str) -> None:
    """Store the user's WeChat session key where login keeps it."""
    get_redis().set(session_key_name(user_id), session_key, ex=3600)


def midnight(day: date) -> int:
    """WeRun's timestamp of a day: its Beijing midnight, in unix seconds."""
    return int(datetime.combine(day, clock(0), BEIJING).timestamp())


def steps_list(steps_by_day: Mapping[date, int]) -> list[dict[str, int]]:
    return [{"timestamp": midnight(day), "step": steps} for day, steps in sorted(steps_by_day.items())]


def last_days(*counts: int, end: date | None = None) -> dict[date, int]:
    """Step counts of consecutive days ending today (or `end`): last_days(a, b) → {yesterday: a, today: b}."""
    end = end or today()
    return {end - timedelta(days=len(counts) - 1 - i): n for i, n in enumerate(counts)}


def encrypt(plain: Any, session_key: str, iv: bytes | None = None) -> dict[str, str]:
    iv = iv or os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(json.dumps(plain).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(base64.b64decode(session_key)), modes.CBC(iv)).encryptor()
    cipher = encryptor.update(data) + encryptor.finalize()
    return {"encryptedData": base64.b64encode(cipher).decode(), "iv": base64.b64encode(iv).decode()}


def werun_payload(
    steps_by_day: Mapping[date, int],
    session_key: str,
    *,
    appid: str = APPID,
    watermark_at: float | None = None,
) -> dict[str, str]:
    """The `{encryptedData, iv}` that `wx.getWeRunData` gives for these daily counts."""
    plain = {
        "stepInfoList": steps_list(steps_by_day),
        "watermark": {
            "timestamp": int(watermark_at if watermark_at is not None else time.time()),
            "appid": appid,
        },
    }
    return encrypt(plain, session_key)


def werun_user(client, code: str) -> tuple[dict[str, str], int, str]:
    """Log a mini-program user in and give them a known session key: (headers, user id, session key)."""
    from tests.support.accounts import bearer, login_user

    token, user = login_user(client, code)
    session_key = new_session_key()
    give_session_key(user["id"], session_key)
    return bearer(token), user["id"], session_key
