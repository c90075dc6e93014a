"""ledger: the public carbon ledger, its Merkle tree nodes and its signed tree heads

An append-only log of every event that changes who holds a gram (`ledger_entries`, numbered from
0 without gaps by the one-row counter `ledger_state`), the hashes of the tree's complete aligned
subtrees (`ledger_nodes`) and the signed tree heads (`ledger_heads`). On PostgreSQL, triggers
refuse to update or delete an entry or a head: the log only grows. The migration leaves the log
empty; the first change recorded after it opens the log with the pool as it then is (its batches,
valid certificates and confirmed retirements), so a database with a history is in the log too
(docs/ledger.md, "A pool older than the log").

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)
HASH = sa.LargeBinary(length=32)

APPEND_ONLY = """
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % of % refused', TG_OP, TG_TABLE_NAME;
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "ledger_state",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("size", ID, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_ledger_state_one_row")),
        sa.CheckConstraint("size >= 0", name=op.f("ck_ledger_state_size_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_state")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("log_index", ID, autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref_id", ID, nullable=True),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("leaf_hash", HASH, nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.CheckConstraint("log_index >= 0", name=op.f("ck_ledger_entries_index_non_negative")),
        sa.CheckConstraint("length(leaf_hash) = 32", name=op.f("ck_ledger_entries_leaf_hash_length")),
        sa.PrimaryKeyConstraint("log_index", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_kind_ref_id", "ledger_entries", ["kind", "ref_id"], unique=False)
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("node_index", ID, autoincrement=False, nullable=False),
        sa.Column("hash", HASH, nullable=False),
        sa.CheckConstraint("level >= 1 AND level <= 63", name=op.f("ck_ledger_nodes_level_in_range")),
        sa.CheckConstraint("node_index >= 0", name=op.f("ck_ledger_nodes_index_non_negative")),
        sa.PrimaryKeyConstraint("level", "node_index", name=op.f("pk_ledger_nodes")),
    )
    op.create_table(
        "ledger_heads",
        sa.Column("tree_size", ID, autoincrement=False, nullable=False),
        sa.Column("root_hash", HASH, nullable=False),
        sa.Column("timestamp", ID, nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.CheckConstraint("tree_size >= 1", name=op.f("ck_ledger_heads_tree_size_positive")),
        sa.CheckConstraint("timestamp >= 0", name=op.f("ck_ledger_heads_timestamp_non_negative")),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_ledger_heads")),
    )
    op.bulk_insert(sa.table("ledger_state", sa.column("id"), sa.column("size")), [{"id": 1, "size": 0}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY)
        for table in ("ledger_entries", "ledger_heads"):
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("ledger_entries", "ledger_heads"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
    op.drop_table("ledger_heads")
    op.drop_table("ledger_nodes")
    op.drop_index("ix_ledger_entries_kind_ref_id", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_state")
