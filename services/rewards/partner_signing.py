"""The signature of partner requests: HMAC-SHA256 over the method, path, body digest, timestamp and nonce.

    canonical = METHOD + "\\n" + PATH + "\\n" + hex(SHA-256(body)) + "\\n" + TIMESTAMP + "\\n" + NONCE
    X-Signature = hex(HMAC-SHA256(secret, canonical))

PATH is the request path with its query string exactly as sent (`/api/v1/x?scopes=tier`), or the
bare path when there is none; TIMESTAMP is Unix seconds; the body of a GET is empty. Pure functions:
no clock, no storage.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER_KEY = "X-Partner-Key"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_SIGNATURE = "X-Signature"


def body_digest(body: bytes) -> str:
    """Lower-case hex SHA-256 of the raw body (of b"" for a request without one)."""
    return hashlib.sha256(body).hexdigest()


def canonical_string(method: str, path: str, body: bytes, timestamp: str, nonce: str) -> str:
    """The text that is signed."""
    return "\n".join((method.upper(), path, body_digest(body), timestamp, nonce))


def sign(secret: str, method: str, path: str, body: bytes, timestamp: str, nonce: str) -> str:
    """Lower-case hex HMAC-SHA256 of the canonical string with the partner's secret."""
    message = canonical_string(method, path, body, timestamp, nonce).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(
    secret: str, method: str, path: str, body: bytes, timestamp: str, nonce: str, signature: str
) -> bool:
    """Whether `signature` is right for the request, compared in constant time.

    Compared as bytes: `hmac.compare_digest` refuses a str holding anything but ASCII (TypeError).
    """
    expected = sign(secret, method, path, body, timestamp, nonce).encode()
    return hmac.compare_digest(expected, signature.strip().lower().encode("utf-8", "replace"))
