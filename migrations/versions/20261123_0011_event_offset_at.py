"""events record when their offset order was fulfilled; events already paid for reach `offset`

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(sa.Column("offset_at", sa.DateTime(timezone=True), nullable=True))
    # Fulfilment now moves the event itself; events whose offset order was fulfilled before, and
    # that were not read since, are moved here once.
    op.execute(
        """
        UPDATE events
        SET stage = 'offset',
            offset_at = (SELECT orders.fulfilled_at FROM orders WHERE orders.out_trade_no = events.offset_order_no)
        WHERE stage = 'accounted'
          AND offset_order_no IN (SELECT out_trade_no FROM orders WHERE status = 'fulfilled')
        """
    )
    op.execute(
        """
        UPDATE events
        SET offset_at = (SELECT orders.fulfilled_at FROM orders WHERE orders.out_trade_no = events.offset_order_no)
        WHERE stage IN ('offset', 'declared') AND offset_at IS NULL
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("offset_at")
