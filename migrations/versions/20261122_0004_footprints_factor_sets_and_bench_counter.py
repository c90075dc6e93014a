"""footprints, factor sets and the bench counter

Revision ID: 0004
Revises: 0007
Create Date: 2026-11-22 04:33:20.923271
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bench_counters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hits", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("hits >= 0", name=op.f("ck_bench_counters_hits_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bench_counters")),
    )
    # The reference endpoint updates this one row and nothing else.
    op.execute("INSERT INTO bench_counters (id, hits) VALUES (1, 0)")
    op.create_table(
        "factor_sets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("published_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("geography", sa.JSON(), nullable=False),
        sa.CheckConstraint("version > 0", name=op.f("ck_factor_sets_version_positive")),
        sa.ForeignKeyConstraint(
            ["published_by"], ["users.id"], name=op.f("fk_factor_sets_published_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_factor_sets")),
        sa.UniqueConstraint("version", name=op.f("uq_factor_sets_version")),
    )
    with op.batch_alter_table("factor_sets", schema=None) as batch_op:
        batch_op.create_index(
            "uq_factor_sets_is_current",
            ["is_current"],
            unique=True,
            sqlite_where=sa.text("is_current"),
            postgresql_where=sa.text("is_current"),
        )

    op.create_table(
        "factors",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("set_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("activity", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("year", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_url", sa.String(length=500), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["set_id"], ["factor_sets.id"], name=op.f("fk_factors_set_id_factor_sets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_factors")),
        sa.UniqueConstraint("set_id", "key", name=op.f("uq_factors_set_id_key")),
    )
    with op.batch_alter_table("factors", schema=None) as batch_op:
        batch_op.create_index("ix_factors_set_id_category_key", ["set_id", "category", "key"], unique=False)

    op.create_table(
        "footprints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "period_type",
            sa.Enum("month", "year", name="footprint_period_type", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("factor_set_version", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("total_g", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("total_g >= 0", name=op.f("ck_footprints_total_non_negative")),
        sa.ForeignKeyConstraint(
            ["factor_set_version"],
            ["factor_sets.version"],
            name=op.f("fk_footprints_factor_set_version_factor_sets"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_footprints_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_footprints")),
    )
    with op.batch_alter_table("footprints", schema=None) as batch_op:
        batch_op.create_index("ix_footprints_user_id_id", ["user_id", "id"], unique=False)
        batch_op.create_index(
            "ix_footprints_user_id_period_type_period_start",
            ["user_id", "period_type", "period_start"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("footprints", schema=None) as batch_op:
        batch_op.drop_index("ix_footprints_user_id_period_type_period_start")
        batch_op.drop_index("ix_footprints_user_id_id")

    op.drop_table("footprints")
    with op.batch_alter_table("factors", schema=None) as batch_op:
        batch_op.drop_index("ix_factors_set_id_category_key")

    op.drop_table("factors")
    with op.batch_alter_table("factor_sets", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_factor_sets_is_current",
            sqlite_where=sa.text("is_current"),
            postgresql_where=sa.text("is_current"),
        )

    op.drop_table("factor_sets")
    op.drop_table("bench_counters")
