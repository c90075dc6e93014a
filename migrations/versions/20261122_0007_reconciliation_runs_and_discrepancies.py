"""reconciliation runs and discrepancies

Revision ID: 0007
Revises: 0008
Create Date: 2026-11-22 04:33:26.619149
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bill_date", sa.Date(), nullable=True),
        sa.Column(
            "source",
            sa.Enum("provider", "upload", "file", name="reconciliation_source", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column(
            "status",
            sa.Enum("running", "done", "failed", name="reconciliation_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("started_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("bytes_total", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("bytes_read", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lines_read", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("trade_rows", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("refund_rows", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("matched", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("discrepancies", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["started_by"], ["users.id"], name=op.f("fk_reconciliation_runs_started_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_runs")),
    )
    with op.batch_alter_table("reconciliation_runs", schema=None) as batch_op:
        batch_op.create_index("ix_reconciliation_runs_bill_date", ["bill_date"], unique=False)

    op.create_table(
        "reconciliation_discrepancies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "missing_here",
                "missing_at_wechat",
                "amount_differs",
                "status_differs",
                "refund_missing_here",
                "refund_missing_at_wechat",
                "refund_amount_differs",
                "totals_mismatch",
                "fee_mismatch",
                name="discrepancy_kind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("line_no", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("out_trade_no", sa.String(length=32), nullable=True),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("out_refund_no", sa.String(length=64), nullable=True),
        sa.Column("refund_id", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("refund_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("amount_here_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("amount_there_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("status_here", sa.String(length=32), nullable=True),
        sa.Column("status_there", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.String(length=255), nullable=False),
        sa.Column("bill_row", sa.JSON(), nullable=True),
        sa.Column(
            "resolution",
            sa.Enum(
                "fulfilled",
                "refunded",
                "explained",
                name="discrepancy_resolution",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("resolution_note", sa.String(length=500), nullable=False),
        sa.Column("resolved_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(resolution IS NULL AND resolved_at IS NULL) OR (resolution IS NOT NULL AND resolved_at IS NOT NULL)",
            name=op.f("ck_reconciliation_discrepancies_resolved_together"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_reconciliation_discrepancies_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["refund_pk"], ["refunds.id"], name=op.f("fk_reconciliation_discrepancies_refund_pk_refunds")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["users.id"], name=op.f("fk_reconciliation_discrepancies_resolved_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconciliation_runs.id"],
            name=op.f("fk_reconciliation_discrepancies_run_id_reconciliation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_discrepancies")),
    )
    with op.batch_alter_table("reconciliation_discrepancies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reconciliation_discrepancies_out_trade_no"), ["out_trade_no"], unique=False
        )
        batch_op.create_index("ix_reconciliation_discrepancies_run_id_kind", ["run_id", "kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reconciliation_discrepancies", schema=None) as batch_op:
        batch_op.drop_index("ix_reconciliation_discrepancies_run_id_kind")
        batch_op.drop_index(batch_op.f("ix_reconciliation_discrepancies_out_trade_no"))

    op.drop_table("reconciliation_discrepancies")
    with op.batch_alter_table("reconciliation_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_reconciliation_runs_bill_date")

    op.drop_table("reconciliation_runs")
