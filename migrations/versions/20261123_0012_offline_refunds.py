"""offline refunds of bank-transfer orders: a flag and the bank's payout reference

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every refund so far went through WeChat Pay: the default fills them, then it is dropped so the
    # application states the value of each new row.
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.add_column(sa.Column("offline", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("bank_reference", sa.String(length=64), nullable=True))
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.alter_column("offline", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.drop_column("bank_reference")
        batch_op.drop_column("offline")
