"""payments: paid-twice refunds and expired paid orders

Orders get `trade_closed_at`: when WeChat Pay confirmed the trade of an unpaid order closed. An
expired or cancelled order without it may still have been paid, and the sync job asks about it.
Refunds get `transaction_id`: the payment a refund returns when it is not the order's own (a
second payment of an order already paid), one refund per such payment.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("trade_closed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.add_column(sa.Column("transaction_id", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_refunds_transaction_id"), ["transaction_id"])


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_refunds_transaction_id"), type_="unique")
        batch_op.drop_column("transaction_id")
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_column("trade_closed_at")
