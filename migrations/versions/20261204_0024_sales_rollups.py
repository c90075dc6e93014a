"""sales rollups: what the admin and public reads sum, kept flat in the order history

Day rows of the sales (per project, channel and product), their append-only deltas, the orders of
several projects, orders by state and points by kind per day, and the marks of the logs folded in
(models/rollups.py); an index of users by creation time. The rollups are then built from the
history already in the database, by the INSERT … SELECT statements of `flask rollups rebuild`
(services/reporting/rollup_rebuild.py), so an upgraded database reads right at once.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
FIGURES = (
    "orders",
    "grams",
    "gross_fen",
    "report_refunded_g",
    "report_refunded_fen",
    "sold_g",
    "refund_g",
    "refund_fen",
    "refund_lines",
    "refunds",
    "paid_orders",
    "paid_fen",
    "fulfilled_g",
)


def _figures() -> list[sa.Column]:
    return [sa.Column(name, ID, nullable=False) for name in FIGURES]


def upgrade() -> None:
    op.create_table(
        "sales_rollups",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("project_id", ID, autoincrement=False, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("product", sa.String(length=16), nullable=False),
        *_figures(),
        sa.PrimaryKeyConstraint("day", "project_id", "channel", "product", name=op.f("pk_sales_rollups")),
    )
    op.create_table(
        "sales_rollup_deltas",
        sa.Column("id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("product", sa.String(length=16), nullable=False),
        *_figures(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_rollup_deltas")),
    )
    op.create_table(
        "split_orders",
        sa.Column("order_id", ID, autoincrement=False, nullable=False),
        sa.Column("project_id", ID, autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("product", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "project_id", name=op.f("pk_split_orders")),
    )
    with op.batch_alter_table("split_orders") as batch_op:
        batch_op.create_index(batch_op.f("ix_split_orders_day"), ["day"], unique=False)
    op.create_table(
        "order_state_rollups",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("orders", ID, nullable=False),
        sa.PrimaryKeyConstraint("day", "status", name=op.f("pk_order_state_rollups")),
    )
    op.create_table(
        "points_rollups",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("points", ID, nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", name=op.f("pk_points_rollups")),
    )
    op.create_table(
        "rollup_marks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_id", ID, nullable=False),
        sa.Column("folded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollup_marks")),
    )
    with op.batch_alter_table("users") as batch_op:
        batch_op.create_index("ix_users_created_at", ["created_at"], unique=False)

    from services.reporting.rollup_rebuild import rebuild_in

    rebuild_in(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_index("ix_users_created_at")
    op.drop_table("rollup_marks")
    op.drop_table("points_rollups")
    op.drop_table("order_state_rollups")
    with op.batch_alter_table("split_orders") as batch_op:
        batch_op.drop_index(batch_op.f("ix_split_orders_day"))
    op.drop_table("split_orders")
    op.drop_table("sales_rollup_deltas")
    op.drop_table("sales_rollups")
