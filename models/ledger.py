"""The public carbon ledger: an append-only log of what changes who holds a gram, as a Merkle tree.

`ledger_entries` holds the entries, numbered from 0 without gaps, each with its RFC 6962 leaf hash;
`ledger_state` is the one row whose `size` every append increments (so appends are serialised and
numbered in commit order); `ledger_nodes` keeps the hash of every complete, aligned subtree of two
or more leaves, so that any subtree hash is a few lookups; `ledger_heads` keeps every signed tree
head. On PostgreSQL the migration adds triggers that refuse to update or delete entries and heads.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

HASH_BYTES = 32


class LedgerState(Base):
    """The log's size: the next entry's index. One row (id 1)."""

    __tablename__ = "ledger_state"
    __table_args__ = (
        CheckConstraint("id = 1", name="one_row"),
        CheckConstraint("size >= 0", name="size_non_negative"),
    )

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    size: Mapped[int]


class LedgerEntry(Base):
    """One entry: canonical JSON text, its leaf hash SHA-256(0x00 ‖ entry), and what it is about."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("log_index >= 0", name="index_non_negative"),
        CheckConstraint(f"length(leaf_hash) = {HASH_BYTES}", name="leaf_hash_length"),
        Index("ix_ledger_entries_kind_ref_id", "kind", "ref_id"),
    )

    log_index: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # The entry's "type" (batch_issued, certificate_issued, ...), and the id of the row it records.
    kind: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[int | None]
    entry: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerNode(Base):
    """The hash of the complete subtree of leaves [index × 2^level, (index + 1) × 2^level), level ≥ 1."""

    __tablename__ = "ledger_nodes"
    __table_args__ = (
        CheckConstraint("level >= 1 AND level <= 63", name="level_in_range"),
        CheckConstraint("node_index >= 0", name="index_non_negative"),
    )

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES))


class LedgerHead(Base):
    """A signed tree head: Ed25519 over {"root_hash","timestamp","tree_size"} as canonical JSON."""

    __tablename__ = "ledger_heads"
    __table_args__ = (
        CheckConstraint("tree_size >= 1", name="tree_size_positive"),
        CheckConstraint("timestamp >= 0", name="timestamp_non_negative"),
    )

    tree_size: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES))
    timestamp: Mapped[int]  # Unix seconds
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
