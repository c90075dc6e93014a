"""low-carbon actions: actions, WeRun uploads and review flags

Revision ID: 0005
Revises: 0006
Create Date: 2026-11-22 04:32:39
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_uploads",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("steps", "bus", "metro", name="action_kind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("days", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("watermark_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_action_uploads_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_uploads")),
        sa.UniqueConstraint("payload_hash", name=op.f("uq_action_uploads_payload_hash")),
    )
    with op.batch_alter_table("action_uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_action_uploads_user_id"), ["user_id"], unique=False)

    op.create_table(
        "actions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("steps", "bus", "metro", name="action_kind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reduction_g", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("points", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "status",
            sa.Enum("accepted", "flagged", "rejected", name="action_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("methodology", sa.String(length=64), nullable=False),
        sa.Column("trip_ref", sa.String(length=64), nullable=True),
        sa.Column("payload_hash", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind <> 'steps' OR trip_ref IS NULL", name=op.f("ck_actions_trip_ref_only_on_trips")
        ),
        sa.CheckConstraint(
            "status <> 'rejected' OR (reduction_g = 0 AND points = 0)",
            name=op.f("ck_actions_rejected_has_no_credit"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_actions_quantity_positive")),
        sa.CheckConstraint("reduction_g >= 0 AND points >= 0", name=op.f("ck_actions_credit_non_negative")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_actions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
        sa.UniqueConstraint("kind", "trip_ref", name=op.f("uq_actions_kind_trip_ref")),
    )
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.create_index("ix_actions_date", ["date"], unique=False)
        batch_op.create_index("ix_actions_user_id_date", ["user_id", "date"], unique=False)
        batch_op.create_index(
            "uq_actions_user_id_kind_date_daily",
            ["user_id", "kind", "date"],
            unique=True,
            sqlite_where=sa.text("kind = 'steps'"),
            postgresql_where=sa.text("kind = 'steps'"),
        )

    op.create_table(
        "action_flags",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("action_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=False),
        sa.Column("claimed_quantity", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("prior_quantity", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "decision",
            sa.Enum("accepted", "rejected", name="flag_decision", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("reviewed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.CheckConstraint(
            "(decision IS NULL AND decided_at IS NULL) OR (decision IS NOT NULL AND decided_at IS NOT NULL)",
            name=op.f("ck_action_flags_decided_at_with_decision"),
        ),
        sa.CheckConstraint("claimed_quantity > 0", name=op.f("ck_action_flags_claimed_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["action_id"], ["actions.id"], name=op.f("fk_action_flags_action_id_actions"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_action_flags_reviewed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_flags")),
    )
    with op.batch_alter_table("action_flags", schema=None) as batch_op:
        batch_op.create_index("ix_action_flags_decision_id", ["decision", "id"], unique=False)
        batch_op.create_index(
            "uq_action_flags_action_id_pending",
            ["action_id"],
            unique=True,
            sqlite_where=sa.text("decision IS NULL"),
            postgresql_where=sa.text("decision IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("action_flags", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_action_flags_action_id_pending",
            sqlite_where=sa.text("decision IS NULL"),
            postgresql_where=sa.text("decision IS NULL"),
        )
        batch_op.drop_index("ix_action_flags_decision_id")

    op.drop_table("action_flags")
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_actions_user_id_kind_date_daily",
            sqlite_where=sa.text("kind = 'steps'"),
            postgresql_where=sa.text("kind = 'steps'"),
        )
        batch_op.drop_index("ix_actions_user_id_date")
        batch_op.drop_index("ix_actions_date")

    op.drop_table("actions")
    with op.batch_alter_table("action_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_uploads_user_id"))

    op.drop_table("action_uploads")
