"""orders: an index of each person's open orders, for the per-person caps

The caps on unpaid orders and reserved grams count a buyer's open orders (created or awaiting
payment, not an organisation's) at every order. The partial index holds only those rows, so the
count reads a handful of entries however long the buyer's history grows.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_BY_PERSON = "organisation_id IS NULL AND status IN ('created', 'awaiting_payment')"


def upgrade() -> None:
    op.create_index(
        "ix_orders_open_by_user",
        "orders",
        ["user_id", "expires_at"],
        postgresql_where=sa.text(OPEN_BY_PERSON),
        sqlite_where=sa.text(OPEN_BY_PERSON),
    )


def downgrade() -> None:
    op.drop_index("ix_orders_open_by_user", table_name="orders")
