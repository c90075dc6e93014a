"""The sandbox's `wx.getWeRunData`: an encrypted WeRun payload for a user logged in by sandbox login.

Real WeRun data comes only from WeChat on a phone. Where logins are the sandbox's (the embedded
default; never production, see `action_policy.sandbox_werun`), this module plays WeChat's part:
it encrypts `{"stepInfoList", "watermark"}` exactly as WeChat does (AES-128-CBC, PKCS#7 padding,
the key being the user's base64 session key, a random IV) with the AppID the decryption expects,
so `POST /api/v1/actions/werun` decrypts it through wechatpy's `WeChatWxaCrypto` like any other.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from models import utcnow
from services.accounts import accounts
from services.actions.actions import WeChatSessionExpired
from services.actions.werun import MAX_DAYS_IN_PAYLOAD
from services.kernel.beijing_time import BEIJING
from services.kernel.errors import UpstreamError, ValidationFailed

# A day of WeRun above this is no walk at all; the sandbox refuses to encrypt it.
MAX_STEPS = 200_000


@dataclass(frozen=True)
class WeRunPayload:
    """What `wx.getWeRunData` gives the mini-program: send both fields to `POST /actions/werun`."""

    encrypted_data: str
    iv: str


def _midnight(day: date) -> int:
    """WeRun's timestamp of a day: its Beijing midnight, in unix seconds."""
    return int(datetime.combine(day, time(0), BEIJING).timestamp())


def _check(steps_by_day: Mapping[date, int]) -> None:
    if not steps_by_day:
        raise ValidationFailed("Give at least one day of steps.", errors={"days": ["Give at least one day."]})
    if len(steps_by_day) > MAX_DAYS_IN_PAYLOAD:
        message = f"Give at most {MAX_DAYS_IN_PAYLOAD} days."
        raise ValidationFailed(message, errors={"days": [message]})
    bad = sorted(str(day) for day, steps in steps_by_day.items() if not 0 <= steps <= MAX_STEPS)
    if bad:
        message = f"Steps are whole numbers from 0 to {MAX_STEPS}."
        raise ValidationFailed(message, errors={"days": [f"{day}: {message}" for day in bad]})


def encrypt_werun(
    steps_by_day: Mapping[date, int], session_key: str, appid: str, watermark_at: datetime
) -> WeRunPayload:
    """Encrypt these daily counts as WeChat encrypts WeRun data for `appid` under `session_key`."""
    plain = {
        "stepInfoList": [
            {"timestamp": _midnight(day), "step": steps} for day, steps in sorted(steps_by_day.items())
        ],
        "watermark": {"timestamp": int(watermark_at.timestamp()), "appid": appid},
    }
    padder = padding.PKCS7(128).padder()
    data = padder.update(json.dumps(plain).encode()) + padder.finalize()
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(base64.b64decode(session_key)), modes.CBC(iv)).encryptor()
    cipher = encryptor.update(data) + encryptor.finalize()
    return WeRunPayload(base64.b64encode(cipher).decode(), base64.b64encode(iv).decode())


def make_payload(
    user_id: int, steps_by_day: Mapping[date, int], appid: str, now: datetime | None = None
) -> WeRunPayload:
    """The WeRun payload of `user_id` for these days, under the session key of their latest login.

    Raises `ValidationFailed` for no days, too many or a count out of range, `WeChatSessionExpired`
    when the user has no session key (log in again), `UpstreamError` without an AppID."""
    _check(steps_by_day)
    if not appid:
        raise UpstreamError("WeRun is not available: the mini-program AppID (WECHAT_APPID) is not set.")
    session_key = accounts.get_session_key(user_id)
    if session_key is None:
        message = "No WeChat session for this user; log in again (POST /api/v1/auth/login)."
        raise WeChatSessionExpired(message, errors={"user": [message]})
    return encrypt_werun(steps_by_day, session_key, appid, now or utcnow())
