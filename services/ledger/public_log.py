"""What anyone may read of the log, without login: the latest signed head, entries, proofs.

Shapes follow the public API (docs/ledger.md): entries by an inclusive range of indices, at most
`MAX_ENTRIES` at a time (fewer at the log's end, none past it); proofs against any tree size up to
the latest signed head's, whose subtree hashes are all stored. A certificate's record is its entry,
its index and its inclusion proof against the latest head (none until a head covers it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import LedgerEntry, LedgerHead
from models.database import read_session
from services.kernel.errors import NotFound, ValidationFailed
from services.ledger import recording, tree_heads, tree_store

MAX_ENTRIES = 1000
INDEX_MAX = 2**63 - 1  # the largest index a 64-bit column holds


def _latest(session: Session) -> LedgerHead:
    head = tree_heads.latest_in(session)
    if head is None:
        raise NotFound("No tree head is signed yet: the ledger is empty or its first head is on its way.")
    return head


def latest_head() -> dict[str, Any]:
    """The latest signed tree head."""
    session = read_session()
    try:
        return tree_heads.head_view(_latest(session))
    finally:
        session.rollback()


def entries(start: int, end: int) -> dict[str, Any]:
    """Entries start..end (inclusive), at most MAX_ENTRIES of them, as far as the log goes."""
    if end < start:
        raise ValidationFailed("end must not be before start.", errors={"end": [f"at least {start}"]})
    session = read_session()
    try:
        last = min(end, start + MAX_ENTRIES - 1, INDEX_MAX - 1)
        rows = tree_store.entries_in(session, start, last + 1)
    finally:
        session.rollback()
    return {"entries": [{"index": index, "entry": entry} for index, entry in rows]}


def _tree_size_within(head: LedgerHead, tree_size: int, field: str) -> None:
    if tree_size > head.tree_size:
        raise ValidationFailed(
            f"The latest signed head covers {head.tree_size} entries; ask for a tree of at most that size.",
            errors={field: [f"at most {head.tree_size}"]},
        )


def inclusion_proof(index: int, tree_size: int) -> dict[str, Any]:
    """The audit path of entry `index` in the tree of the first `tree_size` entries."""
    session = read_session()
    try:
        head = _latest(session)
        _tree_size_within(head, tree_size, "tree_size")
        if index >= tree_size:
            raise ValidationFailed(
                f"Entry {index} is not in a tree of {tree_size} entries.",
                errors={"index": [f"less than tree_size {tree_size}"]},
            )
        path = tree_store.inclusion_path_in(session, index, tree_size)
    finally:
        session.rollback()
    return {"leaf_index": index, "tree_size": tree_size, "audit_path": [h.hex() for h in path]}


def consistency_proof(first: int, second: int) -> dict[str, Any]:
    """The proof that the tree of `second` entries extends the tree of `first` entries."""
    session = read_session()
    try:
        head = _latest(session)
        _tree_size_within(head, second, "second")
        if first > second:
            raise ValidationFailed(
                "first must not be larger than second.", errors={"first": [f"at most {second}"]}
            )
        proof = tree_store.consistency_path_in(session, first, second)
    finally:
        session.rollback()
    return {"first": first, "second": second, "proof": [h.hex() for h in proof]}


def certificate_record_in(session: Session, certificate_id: int) -> dict[str, Any] | None:
    """The log's record of a certificate's issue: index, entry, and its inclusion proof against the
    latest signed head (`head` and `audit_path` are None until a head covers it). None when the log
    has no such entry."""
    row = session.execute(
        select(LedgerEntry.log_index, LedgerEntry.entry, LedgerEntry.leaf_hash)
        .where(LedgerEntry.kind == recording.CERTIFICATE_ISSUED, LedgerEntry.ref_id == certificate_id)
        .order_by(LedgerEntry.log_index)
        .limit(1)
    ).first()
    if row is None:
        return None
    index, entry, leaf = row
    head = tree_heads.latest_in(session)
    covered = head is not None and index < head.tree_size
    return {
        "log_index": int(index),
        "entry": entry,
        "leaf_hash": bytes(leaf).hex(),
        "head": tree_heads.head_view(head) if covered else None,
        "audit_path": [h.hex() for h in tree_store.inclusion_path_in(session, index, head.tree_size)]
        if covered
        else None,
    }
