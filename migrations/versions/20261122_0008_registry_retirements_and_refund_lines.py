"""registry retirements (retirements, retired tonnes) and refund lines

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-22 04:33:18.334698
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retirements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind_code", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "submitted",
                "confirmed",
                "cancelled",
                name="retirement_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("tonnes", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("submission_ref", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registry_ref", sa.String(length=200), nullable=False),
        sa.Column("registry_url", sa.String(length=512), nullable=False),
        sa.Column("retired_on", sa.Date(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status <> 'confirmed' OR (registry_ref <> '' AND retired_on IS NOT NULL AND confirmed_at IS NOT NULL)",
            name=op.f("ck_retirements_confirmed_has_registry_record"),
        ),
        sa.CheckConstraint("tonnes > 0", name=op.f("ck_retirements_tonnes_positive")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_retirements_created_by_users")),
        sa.ForeignKeyConstraint(
            ["kind_code"], ["credit_kinds.code"], name=op.f("fk_retirements_kind_code_credit_kinds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retirements")),
    )
    with op.batch_alter_table("retirements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retirements_kind_code"), ["kind_code"], unique=False)
        batch_op.create_index("ix_retirements_status_confirmed_at", ["status", "confirmed_at"], unique=False)

    op.create_table(
        "retired_tonnes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("retirement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tonne_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("serial", sa.String(length=96), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("tonne_index >= 0", name=op.f("ck_retired_tonnes_tonne_index_non_negative")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_retired_tonnes_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["retirement_id"], ["retirements.id"], name=op.f("fk_retired_tonnes_retirement_id_retirements")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retired_tonnes")),
    )
    with op.batch_alter_table("retired_tonnes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retired_tonnes_retirement_id"), ["retirement_id"], unique=False)
        batch_op.create_index("ix_retired_tonnes_serial", ["serial"], unique=False)
        batch_op.create_index(
            "uq_retired_tonnes_active_batch_id_tonne_index",
            ["batch_id", "tonne_index"],
            unique=True,
            postgresql_where=sa.text("active"),
            sqlite_where=sa.text("active"),
        )

    op.create_table(
        "refund_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("refund_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("grams", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("amount_fen >= 0", name=op.f("ck_refund_lines_amount_non_negative")),
        sa.CheckConstraint("grams >= 0", name=op.f("ck_refund_lines_grams_non_negative")),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_refund_lines_order_line_id_order_lines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"], ["refunds.id"], name=op.f("fk_refund_lines_refund_id_refunds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_lines")),
        sa.UniqueConstraint(
            "refund_id", "order_line_id", name=op.f("uq_refund_lines_refund_id_order_line_id")
        ),
    )
    with op.batch_alter_table("refund_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refund_lines_order_line_id"), ["order_line_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refund_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refund_lines_order_line_id"))

    op.drop_table("refund_lines")
    with op.batch_alter_table("retired_tonnes", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_retired_tonnes_active_batch_id_tonne_index",
            postgresql_where=sa.text("active"),
            sqlite_where=sa.text("active"),
        )
        batch_op.drop_index("ix_retired_tonnes_serial")
        batch_op.drop_index(batch_op.f("ix_retired_tonnes_retirement_id"))

    op.drop_table("retired_tonnes")
    with op.batch_alter_table("retirements", schema=None) as batch_op:
        batch_op.drop_index("ix_retirements_status_confirmed_at")
        batch_op.drop_index(batch_op.f("ix_retirements_kind_code"))

    op.drop_table("retirements")
