"""Signed tree heads: the job that signs a new one when the log grew, and the latest one.

A head signs, with Ed25519, exactly the UTF-8 bytes of the canonical JSON
`{"root_hash":"<hex>","timestamp":<Unix seconds>,"tree_size":<n>}`. Before signing, the job stores
the hashes of the new complete subtrees (`tree_store.fill_nodes_in`) and computes the root from
them; every head is kept, with the public key that checks it, so any two can be proven consistent.
Timestamps never go backwards. Signers are serialised, and a head for a size signed already is
never signed again.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import LedgerHead
from models.database import serialize_in, unit_of_work
from services.ledger import canonical, keys, tree_store


def signed_bytes(root_hash: bytes, timestamp: int, tree_size: int) -> bytes:
    """The exact bytes a head's signature covers."""
    body = {"root_hash": root_hash.hex(), "timestamp": timestamp, "tree_size": tree_size}
    return canonical.encode(body).encode()


def head_view(head: LedgerHead) -> dict[str, Any]:
    """The head as the API publishes it."""
    return {
        "tree_size": head.tree_size,
        "root_hash": bytes(head.root_hash).hex(),
        "timestamp": head.timestamp,
        "signature": base64.b64encode(bytes(head.signature)).decode(),
        "public_key": base64.b64encode(bytes(head.public_key)).decode(),
    }


def signature_holds(head: LedgerHead) -> bool:
    """Whether the head's signature checks under its own public key."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes(head.public_key)).verify(
            bytes(head.signature), signed_bytes(bytes(head.root_hash), head.timestamp, head.tree_size)
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def latest_in(session: Session) -> LedgerHead | None:
    return session.scalar(select(LedgerHead).order_by(LedgerHead.tree_size.desc()).limit(1))


@dataclass(frozen=True)
class SigningResult:
    tree_size: int
    signed: bool
    subtree_hashes: int = 0


def sign_if_grown(now: int | None = None) -> SigningResult:
    """Sign a head for the log as it is, unless the latest head covers it already."""
    with unit_of_work() as session:
        serialize_in(session, "ledger.sign")
        latest = latest_in(session)
        done = latest.tree_size if latest else 0
        size = tree_store.size_in(session)
        if size <= done:
            return SigningResult(done, False)
        stored = tree_store.fill_nodes_in(session, done, size)
        root = tree_store.root_in(session, size)
        timestamp = max(int(time.time() if now is None else now), latest.timestamp if latest else 0)
        key = keys.signing_key()
        session.add(
            LedgerHead(
                tree_size=size,
                root_hash=root,
                timestamp=timestamp,
                signature=key.sign(signed_bytes(root, timestamp, size)),
                public_key=keys.public_key_bytes(key),
            )
        )
        return SigningResult(size, True, stored)
