"""Organisers' phone numbers, bound through the mini-program's `getPhoneNumber` and kept encrypted.

The mini-program's `<button open-type="getPhoneNumber">` gives a one-time code; the service
exchanges it at WeChat (`POST wxa/business/getuserphonenumber`, through wechatpy) for
`phone_info` (`phoneNumber`, `purePhoneNumber`, `countryCode`). Only organisers (members of an
organisation) bind one.

At rest the number is a Fernet token (AES-128-CBC + HMAC-SHA256) under `PHONE_ENCRYPTION_KEY`:
one or more comma-separated Fernet keys, the first encrypting and all decrypting, so a key can be
rotated. Production refuses to start without one; elsewhere an empty setting derives a key from
`SECRET_KEY` (HKDF-SHA256). The owner reads their own number in full (the personal-data export);
everyone else, the owner's profile included, sees it masked (138****1234). The number is never
logged and never put in Redis; deleting the account deletes it.

With the sandbox login (the embedded default, refused in production) no call is made: each code
maps to a stable demo number of the unallocated 100 prefix, derived from the code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from models import PhoneNumber, utcnow
from models.database import read_session, unit_of_work
from services.accounts.tokens import Principal
from services.accounts.wechat_client import WeChatSettings, WeChatUnreachable, wxa_post
from services.kernel.errors import InvalidPhoneCode, PermissionDenied, UpstreamError

log = logging.getLogger(__name__)

_INFO = b"carbon-inclusion phone numbers v1"
SANDBOX_PREFIX = "100"  # no mobile network in China is allocated numbers starting 100
# getuserphonenumber answers that mean "this code gives no number", unlike "WeChat is unwell".
_REFUSED_CODES = {
    40029: "The phone number code is invalid or has expired; ask the user to tap the button again.",
    40163: "The phone number code has already been used; ask the user to tap the button again.",
}
UNAVAILABLE = "WeChat cannot give the phone number right now; retry shortly."


@dataclass(frozen=True)
class Phone:
    """A phone number as WeChat gives it; `pure` has no country code."""

    phone_number: str
    pure: str
    country_code: str

    @property
    def masked(self) -> str:
        return mask(self.pure)


def mask(number: str) -> str:
    """138****1234: the first three and the last four digits; shorter numbers keep their last two."""
    if len(number) >= 11:
        return number[:3] + "*" * (len(number) - 7) + number[-4:]
    if len(number) > 2:
        return "*" * (len(number) - 2) + number[-2:]
    return "*" * len(number)


# -- encryption -------------------------------------------------------------------------------------

_keys: tuple[str, ...] = ()


def fernet_keys(setting: str, secret_key: str) -> tuple[str, ...]:
    """The Fernet keys `PHONE_ENCRYPTION_KEY` names, or one derived from `secret_key` when it is empty."""
    keys = tuple(part.strip() for part in setting.split(",") if part.strip())
    if keys:
        return keys
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
    return (base64.urlsafe_b64encode(derived).decode(),)


def configure(setting: str, secret_key: str) -> None:
    """Encrypt with these keys from now on (the composition root calls it at start)."""
    global _keys
    _keys = fernet_keys(setting, secret_key)


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise RuntimeError("phone_numbers.configure() was not called")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(phone: Phone) -> str:
    plain = json.dumps(
        {"phone_number": phone.phone_number, "pure": phone.pure, "country_code": phone.country_code}
    )
    return _cipher(_keys).encrypt(plain.encode()).decode()


def decrypt(ciphertext: str) -> Phone | None:
    """The number, or None (logged, without it) when no configured key opens it."""
    try:
        data = json.loads(_cipher(_keys).decrypt(ciphertext.encode()))
    except (InvalidToken, ValueError):
        log.warning("a stored phone number cannot be decrypted with PHONE_ENCRYPTION_KEY")
        return None
    return Phone(str(data["phone_number"]), str(data["pure"]), str(data["country_code"]))


# -- WeChat -----------------------------------------------------------------------------------------


def sandbox_phone(code: str) -> Phone:
    """The demo's stand-in for getuserphonenumber: a stable number of the 100 prefix from the code."""
    digits = str(int.from_bytes(hashlib.sha256(b"sandbox-phone:" + code.encode()).digest()[:8]) % 10**8)
    pure = SANDBOX_PREFIX + digits.zfill(8)
    return Phone(pure, pure, "86")


def _answer(result: Any) -> Phone:
    info = result.get("phone_info") if isinstance(result, dict) else None
    if not isinstance(info, dict):
        raise ValueError("no phone_info")
    pure = info.get("purePhoneNumber")
    if not isinstance(pure, str) or not pure.isdigit() or not 5 <= len(pure) <= 20:
        raise ValueError("no purePhoneNumber")
    number = info.get("phoneNumber") if isinstance(info.get("phoneNumber"), str) else pure
    country = str(info.get("countryCode") or "")
    return Phone(number[:32], pure, country[:8])


def fetch_phone(code: str, wechat: WeChatSettings) -> Phone:
    """Exchange a `getPhoneNumber` code for the number: `InvalidPhoneCode` when WeChat refuses the
    code, `UpstreamError` (503) when WeChat cannot be reached or answers nonsense."""
    if wechat.sandbox_login:
        return sandbox_phone(code)
    try:
        return _answer(wxa_post(wechat, "wxa/business/getuserphonenumber", {"code": code}))
    except WeChatClientException as error:
        if error.errcode in _REFUSED_CODES:
            message = _REFUSED_CODES[error.errcode]
            raise InvalidPhoneCode(message, errors={"code": [message]}) from error
        log.warning("WeChat getuserphonenumber failed: errcode=%s", error.errcode)
        raise UpstreamError(UNAVAILABLE) from error
    except (WeChatUnreachable, ValueError) as error:  # ValueError: an answer without a number
        log.warning("WeChat getuserphonenumber unusable (%s)", getattr(error, "kind", "no number"))
        raise UpstreamError(UNAVAILABLE) from error


# -- the user's number ------------------------------------------------------------------------------


def bind(principal: Principal, code: str, wechat: WeChatSettings) -> Phone:
    """Bind (or replace) the caller's phone number from a `getPhoneNumber` code; organisers only."""
    if not principal.organisation_ids:
        raise PermissionDenied("Only organisers (members of an organisation) bind a phone number.")
    phone = fetch_phone(code, wechat)  # outside the transaction: never hold the database on WeChat
    with unit_of_work() as session:
        row = session.get(PhoneNumber, principal.user_id)
        if row is None:
            session.add(PhoneNumber(user_id=principal.user_id, ciphertext=encrypt(phone), bound_at=utcnow()))
        else:
            row.ciphertext = encrypt(phone)
            row.bound_at = utcnow()
    return phone


def unbind(user_id: int) -> bool:
    """Forget the user's phone number; False when none was bound."""
    with unit_of_work() as session:
        return erase_in(session, user_id)


def erase_in(session: Session, user_id: int) -> bool:
    """Delete the user's phone number in the caller's unit of work (unbinding, account deletion)."""
    return bool(session.execute(delete(PhoneNumber).where(PhoneNumber.user_id == user_id)).rowcount)


def phone_in(session: Session, user_id: int) -> Phone | None:
    """The user's number in full (for the user themselves), or None."""
    ciphertext = session.scalar(select(PhoneNumber.ciphertext).where(PhoneNumber.user_id == user_id))
    return decrypt(ciphertext) if ciphertext else None


def masked_in(session: Session, user_id: int) -> str | None:
    """The user's number masked (138****1234), or None when none is bound."""
    phone = phone_in(session, user_id)
    return phone.masked if phone else None


def masked_of(session: Session, user_ids: list[int]) -> dict[int, str]:
    """The masked numbers of those of `user_ids` who bound one."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(PhoneNumber.user_id, PhoneNumber.ciphertext).where(PhoneNumber.user_id.in_(user_ids))
    ).all()
    found = {}
    for user_id, ciphertext in rows:
        phone = decrypt(ciphertext)
        if phone is not None:
            found[user_id] = phone.masked
    return found


def export_of(user_id: int) -> dict[str, Any] | None:
    """The user's own number in full, for their personal-data export."""
    session = read_session()
    try:
        bound_at = session.scalar(select(PhoneNumber.bound_at).where(PhoneNumber.user_id == user_id))
        phone = phone_in(session, user_id)
    finally:
        session.rollback()
    if phone is None:
        return None
    return {
        "phone_number": phone.phone_number,
        "pure_phone_number": phone.pure,
        "country_code": phone.country_code,
        "bound_at": bound_at.isoformat() if bound_at else None,
        "masked": phone.masked,
    }
