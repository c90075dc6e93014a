"""The pool audit's check of the ledger: the log is whole, its hashes and heads hold, and replaying it
gives the database's figures.

Read in index order once: the entries are numbered 0..size-1 without a gap; each is canonical JSON
whose leaf hash is the one stored; the root recomputed from the leaves at each signed head's size is
the head's root, as the stored subtree hashes also give it, and each head's signature holds. Replayed,
the log must give each batch of the database its issued grams, its sold grams (the grams of its
live certificates) and its retired grams, and exactly the database's valid certificates.

The pool does not import this module (the pool writes the log); the composition root adds `check`
to the pool audit. It yields (rule, subject, message) triples.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import GRAMS_PER_TONNE, Batch, Certificate, CertificateStatus, LedgerEntry, LedgerHead
from services.ledger import canonical, merkle, recording, tree_heads, tree_store

Finding = tuple[str, str, str]


class _Replay:
    """Per batch: grams issued, held by live certificates, retired; the live certificates."""

    def __init__(self) -> None:
        self.issued: dict[int, int] = {}
        self.sold: dict[int, int] = defaultdict(int)
        self.retired: dict[int, int] = defaultdict(int)
        self.live: dict[str, list[tuple[int, int]]] = {}

    def apply(self, body: dict[str, Any]) -> str | None:
        kind = body.get("type")
        if kind == recording.BATCH_ISSUED:
            if body["batch"] in self.issued:
                return f"batch {body['batch']} issued twice"
            self.issued[body["batch"]] = body["issued_g"]
        elif kind == recording.CERTIFICATE_ISSUED:
            if body["certificate"] in self.live:
                return f"certificate {body['certificate']} issued twice"
            held = [(s["batch"], s["to_g"] - s["from_g"] + 1) for s in body["slices"]]
            self.live[body["certificate"]] = held
            for batch, grams in held:
                self.sold[batch] += grams
        elif kind == recording.CERTIFICATE_ENDED:
            held = self.live.pop(body["certificate"], None)
            if held is None:
                return f"certificate {body['certificate']} ended but is not live in the log"
            for batch, grams in held:
                self.sold[batch] -= grams
        elif kind == recording.TONNES_RETIRED:
            for run in body["runs"]:
                self.retired[run["batch"]] += (run["last_tonne"] - run["first_tonne"] + 1) * GRAMS_PER_TONNE
        elif kind != recording.GRAMS_RETURNED:
            return f"unknown entry type {kind!r}"
        return None


def check(session: Session) -> Iterator[Finding]:
    size = tree_store.size_in(session)
    count, top = tree_store.counted_in(session)
    if count != size or top != size:
        yield (
            "ledger-structure",
            "ledger",
            f"size {size} but {count} entries numbered up to {top - 1}: entries are missing or extra",
        )
    heads = list(session.scalars(select(LedgerHead).order_by(LedgerHead.tree_size)))
    head_at = {head.tree_size: head for head in heads}
    replay = _Replay()
    stack: list[tuple[int, bytes]] = []
    expected = 0
    rows = session.execute(
        select(LedgerEntry.log_index, LedgerEntry.entry, LedgerEntry.leaf_hash).order_by(
            LedgerEntry.log_index
        )
    ).yield_per(5000)
    for index, entry, stored in rows:
        subject = f"ledger entry {index}"
        if index != expected:
            yield ("ledger-structure", subject, f"expected entry {expected} here")
            expected = index
        leaf = merkle.leaf_hash(entry.encode())
        if leaf != bytes(stored) or not canonical.is_canonical(entry):
            yield ("ledger-leaf", subject, "its text is not canonical JSON or not what its leaf hash says")
        try:
            problem = replay.apply(json.loads(entry))
        except (ValueError, KeyError, TypeError) as exc:
            problem = f"cannot be read: {exc!r}"
        if problem:
            yield ("ledger-replay", subject, problem)
        level = 0
        while stack and stack[-1][0] == level:
            leaf = merkle.node_hash(stack.pop()[1], leaf)
            level += 1
        stack.append((level, leaf))
        expected += 1
        if expected in head_at:
            yield from _check_head(session, head_at[expected], merkle.fold([h for _l, h in stack]))
    for head in heads:
        if head.tree_size > expected:
            yield ("ledger-head", f"head of size {head.tree_size}", f"the log has only {expected} entries")
    yield from _against_database(session, replay)


def _check_head(session: Session, head: LedgerHead, root: bytes) -> Iterator[Finding]:
    subject = f"head of size {head.tree_size}"
    if root != bytes(head.root_hash):
        yield ("ledger-head", subject, "its root is not the root of the log's entries")
    try:
        from_nodes = tree_store.root_in(session, head.tree_size)
    except KeyError as exc:
        yield ("ledger-head", subject, f"subtree hashes missing: {exc.args[0]}")
    else:
        if from_nodes != root:
            yield ("ledger-head", subject, "the stored subtree hashes do not give the root of the entries")
    if not tree_heads.signature_holds(head):
        yield ("ledger-head", subject, "its signature does not hold")


def _against_database(session: Session, replay: _Replay) -> Iterator[Finding]:
    for batch_id, issued_g, sold_g, retired_g in session.execute(
        select(Batch.id, Batch.issued_g, Batch.sold_g, Batch.retired_g).order_by(Batch.id)
    ):
        subject = f"batch {batch_id}"
        if batch_id not in replay.issued:
            yield ("ledger-replay", subject, "in the pool but never issued in the ledger")
            continue
        for figure, logged, actual in (
            ("issued", replay.issued[batch_id], issued_g),
            ("sold", replay.sold.get(batch_id, 0), sold_g),
            ("retired", replay.retired.get(batch_id, 0), retired_g),
        ):
            if logged != actual:
                yield ("ledger-replay", subject, f"{figure} {actual} g but the ledger says {logged} g")
    known = set(session.scalars(select(Batch.id)))
    for batch_id in sorted(set(replay.issued) - known):
        yield ("ledger-replay", f"batch {batch_id}", "issued in the ledger but not in the pool")
    valid = set(
        session.scalars(select(Certificate.number).where(Certificate.status == CertificateStatus.VALID))
    )
    for number in sorted(valid - replay.live.keys()):
        yield ("ledger-replay", f"certificate {number}", "valid but not live in the ledger")
    for number in sorted(replay.live.keys() - valid):
        yield ("ledger-replay", f"certificate {number}", "live in the ledger but not valid")
