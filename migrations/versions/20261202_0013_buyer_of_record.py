"""points, tiers and rankings of the buyer of record

Orders record the organisation they were bought for (the buyer of record of an event offset or an
institutional claim), and organisations get a points ledger of their own.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("organisation_id", ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_orders_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
        )
        batch_op.create_index(batch_op.f("ix_orders_organisation_id"), ["organisation_id"], unique=False)
    # Orders placed so far for an organisation name it in their source: an event offset its event,
    # an institutional claim the organisation itself.
    op.execute(
        "UPDATE orders SET organisation_id = (SELECT events.organisation_id FROM events"
        " WHERE CAST(events.id AS VARCHAR(64)) = orders.source_id) WHERE source_type = 'event'"
    )
    op.execute(
        "UPDATE orders SET organisation_id = (SELECT organisations.id FROM organisations"
        " WHERE CAST(organisations.id AS VARCHAR(64)) = orders.source_id)"
        " WHERE source_type LIKE 'institutional_%'"
    )

    op.create_table(
        "organisation_points_entries",
        sa.Column("id", ID, nullable=False),
        sa.Column("organisation_id", ID, nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "earn",
                "spend",
                "expire",
                "reverse",
                "adjust",
                name="points_kind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("points", ID, nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column(
            "source_type",
            sa.Enum(
                "order",
                "action",
                "redemption",
                "admin",
                "expiry",
                name="points_source",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'earn' AND points > 0) OR (kind = 'reverse' AND points < 0)",
            name=op.f("ck_organisation_points_entries_sign_matches_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_points_entries_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_points_entries")),
        sa.UniqueConstraint(
            "source_type",
            "source_id",
            "kind",
            "organisation_id",
            name="uq_organisation_points_entries_source",
        ),
    )
    with op.batch_alter_table("organisation_points_entries") as batch_op:
        batch_op.create_index(
            "ix_organisation_points_entries_organisation_id_id", ["organisation_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("organisation_points_entries") as batch_op:
        batch_op.drop_index("ix_organisation_points_entries_organisation_id_id")
    op.drop_table("organisation_points_entries")
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_organisation_id"))
        batch_op.drop_constraint(batch_op.f("fk_orders_organisation_id_organisations"), type_="foreignkey")
        batch_op.drop_column("organisation_id")
