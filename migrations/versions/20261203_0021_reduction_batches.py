"""reduction batches: users' reductions batched by month and methodology, their sales and proceeds

Personal reductions are sold as credits: a batch gathers the reviewed, unflagged actions of one
month and methodology (each action in one batch at most), goes to the registry, and once issued
enters the pool as a batch of its own credit kind (a row of `credit_kinds`, made on the first
issuance: the kinds are rows, not an enum). Its sales record the proceeds and the points they
became for each contributor; the points ledger's new source `reduction` needs no schema change
(`points_source` is a plain string column).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reduction_batches",
        sa.Column("id", ID, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("methodology", sa.String(length=64), nullable=False),
        sa.Column("sequence", ID, nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "submitted",
                "issued",
                "rejected",
                name="reduction_batch_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("grams", ID, nullable=False),
        sa.Column("actions", ID, nullable=False),
        sa.Column("contributors", ID, nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("application_ref", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", MOMENT, nullable=True),
        sa.Column("issued_g", ID, nullable=True),
        sa.Column("registry_ref", sa.String(length=200), nullable=False),
        sa.Column("registry_url", sa.String(length=512), nullable=False),
        sa.Column("serial_prefix", sa.String(length=64), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("issued_at", MOMENT, nullable=True),
        sa.Column("pool_batch_id", ID, nullable=True),
        sa.Column("rejected_at", MOMENT, nullable=True),
        sa.Column("reject_reason", sa.String(length=255), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.CheckConstraint(
            "status <> 'issued' OR (issued_g IS NOT NULL AND pool_batch_id IS NOT NULL"
            " AND registry_ref <> '' AND issued_at IS NOT NULL)",
            name=op.f("ck_reduction_batches_issued_has_registry_record"),
        ),
        sa.CheckConstraint(
            "status <> 'rejected' OR rejected_at IS NOT NULL",
            name=op.f("ck_reduction_batches_rejected_has_time"),
        ),
        sa.CheckConstraint(
            "status = 'draft' OR (application_ref <> '' AND submitted_at IS NOT NULL)",
            name=op.f("ck_reduction_batches_submitted_has_application"),
        ),
        sa.CheckConstraint(
            "actions > 0 AND contributors > 0 AND contributors <= actions",
            name=op.f("ck_reduction_batches_counts"),
        ),
        sa.CheckConstraint("grams > 0", name=op.f("ck_reduction_batches_grams_positive")),
        sa.CheckConstraint(
            "issued_g IS NULL OR (issued_g > 0 AND issued_g <= grams)",
            name=op.f("ck_reduction_batches_issued_within_grams"),
        ),
        sa.CheckConstraint("sequence >= 1", name=op.f("ck_reduction_batches_sequence_positive")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_reduction_batches_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["pool_batch_id"], ["batches.id"], name=op.f("fk_reduction_batches_pool_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reduction_batches")),
        sa.UniqueConstraint(
            "month", "methodology", "sequence", name=op.f("uq_reduction_batches_month_methodology_sequence")
        ),
        sa.UniqueConstraint("pool_batch_id", name=op.f("uq_reduction_batches_pool_batch_id")),
    )
    with op.batch_alter_table("reduction_batches", schema=None) as batch_op:
        batch_op.create_index("ix_reduction_batches_status_id", ["status", "id"], unique=False)

    op.create_table(
        "reduction_batch_actions",
        sa.Column("id", ID, nullable=False),
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("action_id", ID, nullable=True),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("grams", ID, nullable=False),
        sa.CheckConstraint("grams > 0", name=op.f("ck_reduction_batch_actions_grams_positive")),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["actions.id"],
            name=op.f("fk_reduction_batch_actions_action_id_actions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["reduction_batches.id"],
            name=op.f("fk_reduction_batch_actions_batch_id_reduction_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_reduction_batch_actions_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reduction_batch_actions")),
        # Each action in one batch at most: no gram of it can be sold twice.
        sa.UniqueConstraint("action_id", name=op.f("uq_reduction_batch_actions_action_id")),
    )
    with op.batch_alter_table("reduction_batch_actions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reduction_batch_actions_batch_id_user_id", ["batch_id", "user_id"], unique=False
        )
        batch_op.create_index(
            "ix_reduction_batch_actions_user_id_batch_id", ["user_id", "batch_id"], unique=False
        )

    op.create_table(
        "reduction_sales",
        sa.Column("id", ID, nullable=False),
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("order_line_id", ID, nullable=False),
        sa.Column("refund_id", ID, nullable=True),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("grams", ID, nullable=False),
        sa.Column("amount_fen", ID, nullable=False),
        sa.Column("share_permille", ID, nullable=False),
        sa.Column("operator_fen", ID, nullable=False),
        sa.Column("distributable_fen", ID, nullable=False),
        sa.Column("points_per_fen", ID, nullable=False),
        sa.Column("points", ID, nullable=False),
        sa.Column("reversed_at", MOMENT, nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.CheckConstraint(
            "grams >= 0 AND amount_fen >= 0", name=op.f("ck_reduction_sales_figures_non_negative")
        ),
        sa.CheckConstraint(
            "operator_fen >= 0 AND distributable_fen >= 0 AND operator_fen + distributable_fen = amount_fen",
            name=op.f("ck_reduction_sales_proceeds_add_up"),
        ),
        sa.CheckConstraint("points >= 0", name=op.f("ck_reduction_sales_points_non_negative")),
        sa.CheckConstraint(
            "share_permille >= 0 AND share_permille <= 1000",
            name=op.f("ck_reduction_sales_share_within_whole"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["reduction_batches.id"], name=op.f("fk_reduction_sales_batch_id_reduction_batches")
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_lines.id"], name=op.f("fk_reduction_sales_order_line_id_order_lines")
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"], ["refunds.id"], name=op.f("fk_reduction_sales_refund_id_refunds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reduction_sales")),
        sa.UniqueConstraint("source_id", name=op.f("uq_reduction_sales_source_id")),
    )
    with op.batch_alter_table("reduction_sales", schema=None) as batch_op:
        batch_op.create_index("ix_reduction_sales_batch_id_id", ["batch_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reduction_sales_order_line_id"), ["order_line_id"], unique=False)
        batch_op.create_index(
            "uq_reduction_sales_active_order_line_id",
            ["order_line_id"],
            unique=True,
            postgresql_where=sa.text("reversed_at IS NULL"),
            sqlite_where=sa.text("reversed_at IS NULL"),
        )

    op.create_table(
        "reduction_proceeds",
        sa.Column("id", ID, nullable=False),
        sa.Column("sale_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("contributed_g", ID, nullable=False),
        sa.Column("sold_g", ID, nullable=False),
        sa.Column("points", ID, nullable=False),
        sa.CheckConstraint(
            "contributed_g > 0 AND sold_g >= 0 AND points >= 0", name=op.f("ck_reduction_proceeds_figures")
        ),
        sa.ForeignKeyConstraint(
            ["sale_id"],
            ["reduction_sales.id"],
            name=op.f("fk_reduction_proceeds_sale_id_reduction_sales"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reduction_proceeds_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reduction_proceeds")),
        sa.UniqueConstraint("sale_id", "user_id", name=op.f("uq_reduction_proceeds_sale_id_user_id")),
    )
    with op.batch_alter_table("reduction_proceeds", schema=None) as batch_op:
        batch_op.create_index("ix_reduction_proceeds_user_id_sale_id", ["user_id", "sale_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reduction_proceeds", schema=None) as batch_op:
        batch_op.drop_index("ix_reduction_proceeds_user_id_sale_id")
    op.drop_table("reduction_proceeds")
    with op.batch_alter_table("reduction_sales", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_reduction_sales_active_order_line_id",
            postgresql_where=sa.text("reversed_at IS NULL"),
            sqlite_where=sa.text("reversed_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_reduction_sales_order_line_id"))
        batch_op.drop_index("ix_reduction_sales_batch_id_id")
    op.drop_table("reduction_sales")
    with op.batch_alter_table("reduction_batch_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_reduction_batch_actions_user_id_batch_id")
        batch_op.drop_index("ix_reduction_batch_actions_batch_id_user_id")
    op.drop_table("reduction_batch_actions")
    with op.batch_alter_table("reduction_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_reduction_batches_status_id")
    op.drop_table("reduction_batches")
