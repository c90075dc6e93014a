"""Checks of setting values that would break the service or leave a deployment open.

Each check gives a list of problems, one sentence each naming the setting, so that a refused start
lists everything wrong at once:

- `number_problems` (every profile): a numeric setting outside the range where it makes sense: a
  negative or zero lifetime, a timeout of 0, a number of days that overflows a date;
- `production_problems` (production only): a weak `SECRET_KEY` (partner secrets are encrypted
  with a key derived from it), a `PUBLIC_BASE_URL` that is not public HTTPS (it goes into
  certificate QR codes and payment notify URLs), no `METRICS_TOKEN`, rate limits turned off, no
  font file for the certificate PDFs, a seal image for them set but unreadable, no key to sign the
  public ledger's tree heads (which, when set, must be the base64 of 32 bytes in every profile), no
  key to encrypt phone numbers (which, when set, must be Fernet keys in every profile).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

MINUTE, HOUR, DAY = 60, 3_600, 86_400

# (least, most) of each numeric setting. A numeric setting not named here must be 0 or more.
NUMBER_BOUNDS: Mapping[str, tuple[float, float]] = {
    "DATABASE_POOL_SIZE": (1, 1_000),
    "TRUSTED_PROXIES": (0, 10),
    "PRINCIPAL_LOCAL_CACHE_S": (0, 30),
    "CONTENT_CHECK_MAX_ATTEMPTS": (1, 1_000),
    "WECHAT_TIMEOUT_S": (0.1, 120),
    "WECHAT_CODE_CACHE_S": (MINUTE, 365 * DAY),
    "SUBSCRIBE_POINTS_NOTICE_DAYS": (1, 365),
    "SUBSCRIBE_BANK_TRANSFER_NOTICE_H": (1, 90 * 24),
    "SUBSCRIBE_LOOKBACK_H": (1, 30 * 24),
    "SUBSCRIBE_SEND_ATTEMPTS": (1, 20),
    "SUBSCRIBE_RETRY_BACKOFF_S": (1, HOUR),
    "WECHATPAY_TIMESTAMP_WINDOW_S": (1, HOUR),
    "WECHATPAY_TIMEOUT_S": (0.1, 120),
    "WECHATPAY_RETRY_ATTEMPTS": (1, 10),
    "WECHATPAY_RETRY_BACKOFF_S": (0, MINUTE),
    "TOKEN_TTL_S": (MINUTE, 90 * DAY),
    "ADMIN_LOGIN_FAILURES_BEFORE_LOCK": (1, 1_000),
    "ADMIN_LOGIN_LOCK_S": (1, HOUR),
    "MAX_CONTENT_LENGTH": (64 * 1024, 1024**3),
    "ONE_YUAN_UNIT_G": (1, 1_000_000),
    "ONE_YUAN_UNIT_PRICE_FEN": (1, 100_000_000),
    "RESERVATION_TTL_S": (1, DAY),
    "ONE_YUAN_MAX_UNITS": (1, 1_000_000),
    "BANK_TRANSFER_TTL_S": (1, 90 * DAY),
    "ORDER_MAX_TONNES": (1, 10_000_000),
    "MAX_OPEN_ORDERS_PER_USER": (1, 10_000),
    "MAX_RESERVED_GRAMS_PER_USER": (1, 10**15),
    "REFUND_WINDOW_DAYS": (0, 365),
    "POINTS_PER_KG_OFFSET": (0, 1_000_000),
    "POINTS_EXPIRY_DAYS": (0, 100 * 365),
    "POINTS_PENDING_DAYS": (0, 365),
    "TIER_LIGHT_GREEN_POINTS": (0, 10**12),
    "TIER_MID_GREEN_POINTS": (0, 10**12),
    "TIER_DEEP_GREEN_POINTS": (0, 10**12),
    "PARTNER_TIMESTAMP_WINDOW_S": (1, HOUR),
    "PARTNER_CONSENT_MAX_DAYS": (1, 10 * 365),
    "ORGANISATION_INVITATION_TTL_H": (1, 90 * 24),
    "ACCOUNT_DELETION_COOLING_OFF_DAYS": (0, 90),
    "POINTS_PER_KG_REDUCTION": (0, 1_000_000),
    "STEPS_DAILY_CAP": (0, 1_000_000),
    "STEPS_FLAG_ABOVE": (1, 1_000_000),
    "STEPS_FLAT_RUN_DAYS": (2, 365),
    "TRIP_FLAG_KM": (1, 10_000),
    "ACTION_MAX_AGE_DAYS": (0, 365),
    "REDUCTION_OPERATOR_SHARE_PERMILLE": (0, 1_000),
    "REDUCTION_POINTS_PER_FEN": (1, 100),
    "WERUN_MAX_AGE_S": (1, 30 * DAY),
    "RANKINGS_TTL_S": (0, 365 * DAY),
    "TRANSPARENCY_CACHE_S": (0, DAY),
    "ADOPTION_POINTS_PER_TREE": (0, 1_000_000),
    "LAND_COMPENSATION_STATE_SHARE_BP": (0, 10_000),
}
DEFAULT_BOUNDS = (0, 10**15)

SECRET_KEY_MIN_LENGTH = 32
SECRET_KEY_MIN_DISTINCT = 10
METRICS_TOKEN_MIN_LENGTH = 16
DEMO_SECRET_KEY = "dev-only-secret"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _show(number: float) -> str:
    return f"{int(number):,}" if float(number).is_integer() else f"{number:,}"


def number_problems(values: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """Each numeric setting among `names` that is not finite or lies outside its bounds."""
    problems = []
    for name in names:
        value = values.get(name)
        if not _is_number(value):
            continue
        least, most = NUMBER_BOUNDS.get(name, DEFAULT_BOUNDS)
        if not math.isfinite(value) or not least <= value <= most:
            problems.append(
                f"{name}={value} is out of range: it must be from {_show(least)} to {_show(most)}"
            )
    return problems


def _local_host(host: str) -> bool:
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified or address.is_private or address.is_link_local


def public_base_url_problem(url: str) -> str | None:
    """What is wrong with `url` as the public address of a production deployment, if anything."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme != "https" or not host:
        return (
            f"PUBLIC_BASE_URL={url!r} must be the service's public https:// address "
            "(WeChat Pay sends its callbacks there; phones open it from certificate QR codes)"
        )
    if _local_host(host):
        return f"PUBLIC_BASE_URL={url!r} points at a loopback or private address, which no phone and no WeChat Pay can reach"
    if parts.query or parts.fragment:
        return f"PUBLIC_BASE_URL={url!r} must not carry a query or fragment"
    return None


def certificate_font_problem(path: str) -> str | None:
    """What is wrong with `path` (CERTIFICATE_FONT_PATH, resolved) as the certificates' font, if anything."""
    if not path:
        return (
            "CERTIFICATE_FONT_PATH: no TrueType font with Chinese glyphs is installed for the certificate "
            "PDFs; install Debian's fonts-wqy-microhei (bin/setup does) or name a .ttf/.ttc file"
        )
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        return f"CERTIFICATE_FONT_PATH={path!r} is not a readable font file"
    return None


SEAL_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # PNG, JPEG


def certificate_seal_problem(path: str) -> str | None:
    """What is wrong with `path` (CERTIFICATE_SEAL_PATH) as the issuer's seal image, if anything; empty
    is no seal."""
    if not path:
        return None
    try:
        with open(path, "rb") as image:
            signature = image.read(8)
    except OSError:
        return f"CERTIFICATE_SEAL_PATH={path!r} is not a readable image file"
    if not signature.startswith(SEAL_SIGNATURES):
        return f"CERTIFICATE_SEAL_PATH={path!r} is not a PNG or JPEG image"
    return None


LEDGER_SEED_BYTES = 32


def ledger_signing_key_problem(value: str, required: bool) -> str | None:
    """What is wrong with `value` as LEDGER_SIGNING_KEY (base64 of a 32-byte Ed25519 seed), if anything."""
    if not value.strip():
        if not required:
            return None
        return (
            "LEDGER_SIGNING_KEY must be set: the base64 of a random 32-byte Ed25519 seed that signs the "
            "public ledger's tree heads, kept from start to start (its public key is what verifiers pin), e.g. "
            "`python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'`"
        )
    try:
        seed = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return "LEDGER_SIGNING_KEY is not base64"
    if len(seed) != LEDGER_SEED_BYTES:
        return f"LEDGER_SIGNING_KEY must be the base64 of {LEDGER_SEED_BYTES} bytes, not of {len(seed)}"
    return None


def phone_encryption_key_problem(value: str, required: bool) -> str | None:
    """What is wrong with `value` as PHONE_ENCRYPTION_KEY (comma-separated Fernet keys), if anything;
    the message never repeats a key."""
    keys = [part.strip() for part in value.split(",") if part.strip()]
    example = "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
    if not keys:
        if not required:
            return None
        return (
            "PHONE_ENCRYPTION_KEY must be set: a Fernet key that encrypts bound phone numbers at rest, "
            f"kept from start to start (a lost key loses every number), e.g. {example}"
        )
    for position, key in enumerate(keys, 1):
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            return (
                f"PHONE_ENCRYPTION_KEY: key {position} is not a Fernet key (the URL-safe base64 of 32 "
                f"bytes), e.g. {example}"
            )
    return None


def production_problems(values: Mapping[str, Any]) -> list[str]:
    """What a production deployment must not run with: weak secrets, a local URL, limits off."""
    problems = []
    key = values["SECRET_KEY"]
    if key == DEMO_SECRET_KEY or len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_DISTINCT:
        problems.append(
            f"SECRET_KEY must be a random value of {SECRET_KEY_MIN_LENGTH} characters or more (it signs "
            "console sessions and derives the key that encrypts partner secrets), e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    if (problem := public_base_url_problem(values["PUBLIC_BASE_URL"])) is not None:
        problems.append(problem)
    if len(values["METRICS_TOKEN"]) < METRICS_TOKEN_MIN_LENGTH:
        problems.append(
            f"METRICS_TOKEN must be set, {METRICS_TOKEN_MIN_LENGTH} characters or more "
            "(the bearer token Prometheus sends to /metrics)"
        )
    if not values["RATELIMIT_ENABLED"]:
        problems.append(
            "RATELIMIT_ENABLED=false is not allowed in production (logins and orders need their limits)"
        )
    if (problem := certificate_font_problem(values["CERTIFICATE_FONT_PATH"])) is not None:
        problems.append(problem)
    if (problem := certificate_seal_problem(values["CERTIFICATE_SEAL_PATH"])) is not None:
        problems.append(problem)
    if (problem := ledger_signing_key_problem(values["LEDGER_SIGNING_KEY"], required=True)) is not None:
        problems.append(problem)
    if (problem := phone_encryption_key_problem(values["PHONE_ENCRYPTION_KEY"], required=True)) is not None:
        problems.append(problem)
    return problems
