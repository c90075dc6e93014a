"""Partner signing secrets: generated once, stored encrypted with a key derived from SECRET_KEY.

An HMAC verifier needs the secret itself, so it cannot be kept as a one-way hash. It is
encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from SECRET_KEY with
HKDF-SHA256; a database dump alone does not reveal it. Changing SECRET_KEY makes every stored
secret unreadable: rotate the partners' secrets afterwards.
"""

from __future__ import annotations

import base64
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"carbon-inclusion partner signing secrets v1"


class UnreadableSecret(Exception):
    """A stored secret cannot be decrypted with the current SECRET_KEY."""


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def new_secret() -> str:
    """A random signing secret (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def new_key_id() -> str:
    """A public key id that partners send in `X-Partner-Key`."""
    return "pk_" + secrets.token_hex(12)


def encrypt(secret: str, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode()


def decrypt(token: str, secret_key: str) -> str:
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise UnreadableSecret("the partner secret was encrypted under another SECRET_KEY") from exc
