"""points ledger: entries, lot uses and balances

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:10:09.075706
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "points_balances",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("balance", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pending", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lifetime_earned", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_points_balances_balance_non_negative")),
        sa.CheckConstraint(
            "lifetime_earned >= 0", name=op.f("ck_points_balances_lifetime_earned_non_negative")
        ),
        sa.CheckConstraint("pending >= 0", name=op.f("ck_points_balances_pending_non_negative")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_points_balances_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_points_balances")),
    )
    op.create_table(
        "points_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "earn",
                "spend",
                "expire",
                "reverse",
                "adjust",
                name="points_kind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("points", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column(
            "source_type",
            sa.Enum(
                "order",
                "action",
                "redemption",
                "admin",
                "expiry",
                name="points_source",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "available", name="points_status", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remaining", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'earn' AND points > 0) OR (kind IN ('spend', 'expire') AND points < 0) OR (kind = 'reverse' AND points <= 0) OR (kind = 'adjust' AND points <> 0)",
            name=op.f("ck_points_entries_sign_matches_kind"),
        ),
        sa.CheckConstraint(
            "status <> 'pending' OR available_at IS NOT NULL",
            name=op.f("ck_points_entries_pending_has_available_at"),
        ),
        sa.CheckConstraint(
            "(points > 0 AND remaining IS NOT NULL AND status IS NOT NULL) OR (points <= 0 AND remaining IS NULL AND status IS NULL)",
            name=op.f("ck_points_entries_lot_fields_only_on_credits"),
        ),
        sa.CheckConstraint(
            "remaining >= 0 AND remaining <= points", name=op.f("ck_points_entries_remaining_within_points")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_points_entries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_entries")),
        sa.UniqueConstraint(
            "source_type",
            "source_id",
            "kind",
            "user_id",
            name=op.f("uq_points_entries_source_type_source_id_kind_user_id"),
        ),
    )
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.create_index("ix_points_entries_expires_at", ["expires_at"], unique=False)
        batch_op.create_index(
            "ix_points_entries_status_available_at", ["status", "available_at"], unique=False
        )
        batch_op.create_index("ix_points_entries_user_id_id", ["user_id", "id"], unique=False)
        batch_op.create_index(
            "ix_points_entries_user_id_status_expires_at", ["user_id", "status", "expires_at"], unique=False
        )

    op.create_table(
        "points_uses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("debit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("points", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("points > 0", name=op.f("ck_points_uses_points_positive")),
        sa.ForeignKeyConstraint(
            ["debit_id"],
            ["points_entries.id"],
            name=op.f("fk_points_uses_debit_id_points_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["points_entries.id"],
            name=op.f("fk_points_uses_lot_id_points_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_uses")),
        sa.UniqueConstraint("debit_id", "lot_id", name=op.f("uq_points_uses_debit_id_lot_id")),
    )
    with op.batch_alter_table("points_uses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_points_uses_lot_id"), ["lot_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("points_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_points_uses_lot_id"))

    op.drop_table("points_uses")
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_points_entries_user_id_status_expires_at")
        batch_op.drop_index("ix_points_entries_user_id_id")
        batch_op.drop_index("ix_points_entries_status_available_at")
        batch_op.drop_index("ix_points_entries_expires_at")

    op.drop_table("points_entries")
    op.drop_table("points_balances")
