"""The ledger's two keys: the Ed25519 key that signs tree heads, and the key of holder pseudonyms.

`LEDGER_SIGNING_KEY` is the base64 of a raw 32-byte Ed25519 seed; production refuses to start
without one (config/safety.py). Elsewhere an empty setting means a key made for this process, so a
demo signs heads but its key changes at every start. A certificate's holder appears in the log only
as HMAC-SHA256(holder key, "user:<id>" or "organisation:<id>"), cut to 128 bits: stable for one
buyer, unlinkable to them without the key; the key is `LEDGER_HOLDER_KEY`, or when that is empty a
key derived from `SECRET_KEY`. The composition root calls `configure` once per process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from config.safety import ledger_signing_key_problem

log = logging.getLogger(__name__)

_signing: Ed25519PrivateKey | None = None
_holder_key: bytes | None = None


def configure(signing_seed: str, holder_key: str, secret_key: str) -> None:
    """Load the signing key (or make one for this process when `signing_seed` is empty) and the
    pseudonym key."""
    global _signing, _holder_key
    if signing_seed.strip():
        problem = ledger_signing_key_problem(signing_seed, required=True)
        if problem:
            raise ValueError(problem)
        _signing = Ed25519PrivateKey.from_private_bytes(base64.b64decode(signing_seed.strip()))
    else:
        _signing = Ed25519PrivateKey.generate()
        log.info("LEDGER_SIGNING_KEY is not set: tree heads are signed with a key made for this process")
    _holder_key = (
        holder_key.encode()
        if holder_key
        else hmac.new(secret_key.encode(), b"ledger holder pseudonyms", hashlib.sha256).digest()
    )


def signing_key() -> Ed25519PrivateKey:
    if _signing is None:
        raise RuntimeError("The ledger keys are not configured; start the service through bootstrap.start().")
    return _signing


def public_key_bytes(key: Ed25519PrivateKey | None = None) -> bytes:
    """The raw 32 bytes of the public key that checks the heads."""
    return (key or signing_key()).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def holder_pseudonym(user_id: int, organisation_id: int | None) -> str:
    """The buyer of record as the log names them: 32 hex digits."""
    if _holder_key is None:
        raise RuntimeError("The ledger keys are not configured; start the service through bootstrap.start().")
    subject = f"organisation:{organisation_id}" if organisation_id is not None else f"user:{user_id}"
    return hmac.new(_holder_key, subject.encode(), hashlib.sha256).hexdigest()[:32]
