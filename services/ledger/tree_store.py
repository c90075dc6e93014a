"""The log in the database: appends, the stored subtree hashes, and roots and proofs read from them.

An append is made inside the unit of work of the change it records (`append_in`), but written just
before that unit of work commits: one statement on PostgreSQL (the counter row's upsert, which
locks it, and the entries' insert, as data-modifying CTEs), two on SQLite. Taking the counter lock
last keeps it held only for that statement and the commit, and means no transaction ever waits on
another lock while holding it (no deadlock with the batch rows that fulfilment and refunds lock).
A unit of work that rolls back appends nothing; entries are numbered in commit order, from 0, without
gaps.

The first append into an empty log opens it (`opens_with`): on a database whose pool had a history
before the log existed (an upgrade), the log starts with that pool as it is, so that no later entry
refers to a batch or a certificate the log never saw. Each process looks once per engine, under the
counter row's lock; once it has seen a non-empty log it never looks again.

The hashes of complete aligned subtrees of two or more leaves (`ledger_nodes`) are filled in by
`fill_nodes_in` (the signing job, before it signs a head), so below the latest head's size any
subtree hash is a few lookups and a proof reads O(log n) hashes in two queries.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, event, func, insert, select, text, tuple_
from sqlalchemy.orm import Session

from models import LedgerEntry, LedgerNode, LedgerState, utcnow
from services.ledger import canonical, merkle
from services.ledger.merkle import Node

_PENDING = "ledger.pending"
FILL_CHUNK = 1 << 15  # leaves whose subtree hashes are computed and inserted at a time


@dataclass(frozen=True)
class Pending:
    kind: str
    ref_id: int | None
    entry: str
    leaf_hash: bytes


Opening = Callable[[Session, list[Pending]], list[Pending]]
_opening: Opening | None = None
_open_on: weakref.WeakSet[Engine | Connection] = weakref.WeakSet()  # binds whose log is known non-empty


def entry_of(body: Mapping[str, Any], ref_id: int | None = None) -> Pending:
    """The entry `body` (its "type" says its kind) in canonical form, with its leaf hash."""
    entry = canonical.encode(dict(body))
    return Pending(str(body["type"]), ref_id, entry, merkle.leaf_hash(entry.encode()))


def append_in(session: Session, body: Mapping[str, Any], ref_id: int | None = None) -> None:
    """Append the entry `body` (its "type" says its kind) when the caller's unit of work commits."""
    session.info.setdefault(_PENDING, []).append(entry_of(body, ref_id))


def opens_with(opening: Opening) -> Opening:
    """Register what an append into an empty log writes instead of its own entries (`opening(session,
    entries)` gives the entries to write); `services.ledger.recording` registers the pool as it is."""
    global _opening
    _opening = opening
    return opening


def pending_refs(session: Session) -> set[tuple[str, int | None]]:
    """(kind, ref_id) of the entries this unit of work will append."""
    return {(p.kind, p.ref_id) for p in session.info.get(_PENDING, ())}


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    waiting = session.info.pop(_PENDING, None)
    if waiting:
        session.flush()  # whatever else the unit of work writes goes first: this lock is the last
        write_in(session, _opened(session, waiting))


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


_APPEND_PG = text(
    "WITH head AS ("
    " INSERT INTO ledger_state (id, size) VALUES (1, :n)"
    " ON CONFLICT (id) DO UPDATE SET size = ledger_state.size + excluded.size RETURNING size)"
    " INSERT INTO ledger_entries (log_index, kind, ref_id, entry, leaf_hash, created_at)"
    " SELECT head.size - :n + e.ord - 1, e.kind, e.ref_id, e.entry, e.leaf_hash, :now"
    " FROM head, unnest(CAST(:kinds AS varchar[]), CAST(:refs AS bigint[]), CAST(:entries AS text[]),"
    " CAST(:leaves AS bytea[])) WITH ORDINALITY AS e(kind, ref_id, entry, leaf_hash, ord)"
)
# Locks the counter row (made if missing) and reads the log's size; PostgreSQL and SQLite alike.
_LOCK_SIZE = text(
    "INSERT INTO ledger_state (id, size) VALUES (1, 0)"
    " ON CONFLICT (id) DO UPDATE SET size = ledger_state.size RETURNING size"
)
_GROW_SQLITE = text(
    "INSERT INTO ledger_state (id, size) VALUES (1, :n)"
    " ON CONFLICT (id) DO UPDATE SET size = size + excluded.size RETURNING size"
)


def _opened(session: Session, waiting: list[Pending]) -> list[Pending]:
    """`waiting`, or what opens the log instead when it is empty (see `opens_with`)."""
    bind = session.get_bind()
    if _opening is None or bind in _open_on:
        return waiting
    if int(session.execute(_LOCK_SIZE).scalar_one()):
        _open_on.add(bind)
        return waiting
    return _opening(session, waiting)


def write_in(session: Session, pending: Sequence[Pending]) -> None:
    """Number and insert `pending` entries now, after those already in the log."""
    n = len(pending)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _APPEND_PG,
            {
                "n": n,
                "now": utcnow(),
                "kinds": [p.kind for p in pending],
                "refs": [p.ref_id for p in pending],
                "entries": [p.entry for p in pending],
                "leaves": [p.leaf_hash for p in pending],
            },
        )
        return
    first = int(session.execute(_GROW_SQLITE, {"n": n}).scalar_one()) - n
    now = utcnow()
    session.execute(
        insert(LedgerEntry),
        [
            {
                "log_index": first + offset,
                "kind": p.kind,
                "ref_id": p.ref_id,
                "entry": p.entry,
                "leaf_hash": p.leaf_hash,
                "created_at": now,
            }
            for offset, p in enumerate(pending)
        ],
    )


def size_in(session: Session) -> int:
    """How many entries the log has (committed ones, and the caller's own)."""
    return int(session.scalar(select(LedgerState.size).where(LedgerState.id == 1)) or 0)


# -- subtree hashes --


def read_nodes(session: Session, nodes: Iterable[Node]) -> dict[Node, bytes]:
    """The stored hashes of complete subtrees (level 0: the leaves); KeyError names one missing."""
    wanted = set(nodes)
    leaves = [index for level, index in wanted if level == 0]
    inner = [(level, index) for level, index in wanted if level > 0]
    found: dict[Node, bytes] = {}
    for chunk in _chunks(leaves, 500):
        for index, value in session.execute(
            select(LedgerEntry.log_index, LedgerEntry.leaf_hash).where(LedgerEntry.log_index.in_(chunk))
        ):
            found[(0, index)] = bytes(value)
    for chunk in _chunks(inner, 500):
        for level, index, value in session.execute(
            select(LedgerNode.level, LedgerNode.node_index, LedgerNode.hash).where(
                tuple_(LedgerNode.level, LedgerNode.node_index).in_(chunk)
            )
        ):
            found[(level, index)] = bytes(value)
    missing = wanted - found.keys()
    if missing:
        level, index = min(missing)
        raise KeyError(f"no stored hash of leaves [{index << level}, {(index + 1) << level})")
    return found


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def root_in(session: Session, size: int) -> bytes:
    """The root of the first `size` leaves, from stored subtree hashes (filled up to `size`)."""
    if size == 0:
        return merkle.EMPTY_ROOT
    return merkle.proof_hashes([(0, size)], lambda nodes: read_nodes(session, nodes))[0]


def inclusion_path_in(session: Session, index: int, size: int) -> list[bytes]:
    return merkle.proof_hashes(merkle.inclusion_ranges(index, size), lambda nodes: read_nodes(session, nodes))


def consistency_path_in(session: Session, first: int, second: int) -> list[bytes]:
    if first == second:
        return []
    return merkle.proof_hashes(
        merkle.consistency_ranges(first, second), lambda nodes: read_nodes(session, nodes)
    )


def fill_nodes_in(session: Session, done: int, size: int) -> int:
    """Store the hashes of every complete subtree of two or more leaves that ends in (done, size].

    Those ending at or before `done` must be stored already. Works through `FILL_CHUNK` leaves at a
    time; gives how many hashes it stored.
    """
    stored = 0
    start = done
    while start < size:
        end = min(size, (start // FILL_CHUNK + 1) * FILL_CHUNK)
        stored += _fill(session, start, end)
        start = end
    return stored


def _fill(session: Session, start: int, end: int) -> int:
    have: dict[Node, bytes] = {
        (0, index): bytes(value)
        for index, value in session.execute(
            select(LedgerEntry.log_index, LedgerEntry.leaf_hash)
            .where(LedgerEntry.log_index >= (start & ~1), LedgerEntry.log_index < end)
            .order_by(LedgerEntry.log_index)
        )
    }
    if len(have) != end - (start & ~1):
        raise RuntimeError(f"the log has gaps between {start & ~1} and {end}: run the pool audit")
    rows: list[dict[str, Any]] = []
    level = 1
    while end >> level > start >> level:
        first, last = start >> level, end >> level  # new nodes: first ≤ i < last
        children = [(level - 1, child) for i in range(first, last) for child in (2 * i, 2 * i + 1)]
        absent = [child for child in children if child not in have]
        if absent:
            have.update(read_nodes(session, absent))
        for i in range(first, last):
            value = merkle.node_hash(have[(level - 1, 2 * i)], have[(level - 1, 2 * i + 1)])
            have[(level, i)] = value
            rows.append({"level": level, "node_index": i, "hash": value})
        level += 1
    if rows:
        session.execute(insert(LedgerNode), rows)
    return len(rows)


def entries_in(session: Session, start: int, end: int) -> list[tuple[int, str]]:
    """(index, entry) of the entries start ≤ index < end, in order."""
    return [
        (int(index), entry)
        for index, entry in session.execute(
            select(LedgerEntry.log_index, LedgerEntry.entry)
            .where(LedgerEntry.log_index >= start, LedgerEntry.log_index < end)
            .order_by(LedgerEntry.log_index)
        )
    ]


def counted_in(session: Session) -> tuple[int, int]:
    """How many entry rows there are, and the highest index plus one (both equal the size when whole)."""
    count, top = session.execute(select(func.count(), func.max(LedgerEntry.log_index))).one()
    return int(count), (int(top) + 1 if top is not None else 0)
