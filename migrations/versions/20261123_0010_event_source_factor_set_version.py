"""event sources record the factor-set version of their factor

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event_sources") as batch_op:
        batch_op.add_column(
            sa.Column(
                "factor_set_version", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("event_sources") as batch_op:
        batch_op.drop_column("factor_set_version")
