"""forestry: memorial forests, plots, plantings, survival checks, tree adoptions, land-use compensations

Memorial forests (碳汇林纪念基地) and their plots; what was planted on a plot and how much of it
survived; trees adopted for a donation (认建认养, 捐资造林); and the credits a business project that
occupies forest land buys when its land-use permit is processed (经营性项目用地碳汇补偿).

A donation order (channel `adoption`) takes no grams from the pool and holds no reservation: the
`orders` CHECK `grams_positive` becomes `grams_by_channel`, which says so.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GRAMS_BY_CHANNEL = (
    "(channel <> 'adoption' AND grams > 0) OR (channel = 'adoption' AND grams = 0 AND reservation_id IS NULL)"
)


def _replace_orders_check(old: str, new: str, sql: str) -> None:
    """Swap one CHECK of `orders`. SQLite rebuilds the table for it: with foreign keys on, dropping
    the old table would delete (or cascade into) the rows that refer to orders, so they are off for
    the rebuild, and the references are checked before they are on again."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
        if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
            raise RuntimeError("SQLite foreign keys could not be turned off (a transaction is open).")
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_constraint(op.f(f"ck_orders_{old}"), type_="check")
        batch_op.create_check_constraint(new, sql)
    if sqlite:
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"Rebuilding orders broke references: {broken[:5]}")
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")


def upgrade() -> None:
    _replace_orders_check("grams_positive", "grams_by_channel", GRAMS_BY_CHANNEL)
    op.create_table(
        "memorial_forests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_memorial_forests_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["project_owners.id"], name=op.f("fk_memorial_forests_owner_id_project_owners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memorial_forests")),
        sa.UniqueConstraint("code", name=op.f("uq_memorial_forests_code")),
    )
    with op.batch_alter_table("memorial_forests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memorial_forests_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "forest_plots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("forest_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("area_m2", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("species", sa.JSON(), nullable=False),
        sa.Column("tree_capacity", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "donation_fen_per_tree", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("credit_project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("area_m2 > 0", name=op.f("ck_forest_plots_area_positive")),
        sa.CheckConstraint("donation_fen_per_tree > 0", name=op.f("ck_forest_plots_donation_positive")),
        sa.CheckConstraint("tree_capacity > 0", name=op.f("ck_forest_plots_capacity_positive")),
        sa.ForeignKeyConstraint(
            ["credit_project_id"], ["projects.id"], name=op.f("fk_forest_plots_credit_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["forest_id"], ["memorial_forests.id"], name=op.f("fk_forest_plots_forest_id_memorial_forests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forest_plots")),
        sa.UniqueConstraint("forest_id", "code", name=op.f("uq_forest_plots_forest_id_code")),
    )
    with op.batch_alter_table("forest_plots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forest_plots_credit_project_id"), ["credit_project_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_forest_plots_forest_id"), ["forest_id"], unique=False)

    op.create_table(
        "forest_plantings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("plot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("species", sa.String(length=64), nullable=False),
        sa.Column("trees", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("area_m2", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("planted_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("area_m2 > 0", name=op.f("ck_forest_plantings_area_positive")),
        sa.CheckConstraint("trees > 0", name=op.f("ck_forest_plantings_trees_positive")),
        sa.ForeignKeyConstraint(
            ["plot_id"], ["forest_plots.id"], name=op.f("fk_forest_plantings_plot_id_forest_plots")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_forest_plantings_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forest_plantings")),
    )
    with op.batch_alter_table("forest_plantings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forest_plantings_plot_id"), ["plot_id"], unique=False)

    op.create_table(
        "land_compensations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("permit_number", sa.String(length=64), nullable=False),
        sa.Column("permit_authority", sa.String(length=200), nullable=False),
        sa.Column("business_project", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("occupied_area_m2", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("factor_t_per_ha", sa.String(length=32), nullable=False),
        sa.Column("factor_source", sa.String(length=300), nullable=False),
        sa.Column("grams", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state_share_bp", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("public_code", sa.String(length=32), nullable=False),
        sa.Column("certificate_title", sa.String(length=200), nullable=False),
        sa.Column("certificate_statement", sa.Text(), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_land_compensations_amount_positive")),
        sa.CheckConstraint("grams > 0", name=op.f("ck_land_compensations_grams_positive")),
        sa.CheckConstraint("occupied_area_m2 > 0", name=op.f("ck_land_compensations_area_positive")),
        sa.CheckConstraint(
            "state_fen + owner_fen = amount_fen", name=op.f("ck_land_compensations_parts_add_up")
        ),
        sa.CheckConstraint(
            "state_fen >= 0 AND owner_fen >= 0", name=op.f("ck_land_compensations_parts_non_negative")
        ),
        sa.CheckConstraint(
            "state_share_bp >= 0 AND state_share_bp <= 10000",
            name=op.f("ck_land_compensations_share_in_range"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_land_compensations_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_land_compensations_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_land_compensations_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_land_compensations_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_land_compensations")),
        sa.UniqueConstraint("order_id", name=op.f("uq_land_compensations_order_id")),
        sa.UniqueConstraint("public_code", name=op.f("uq_land_compensations_public_code")),
    )
    with op.batch_alter_table("land_compensations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_land_compensations_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index("ix_land_compensations_permit_number", ["permit_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_land_compensations_project_id"), ["project_id"], unique=False)

    op.create_table(
        "tree_adoptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("plot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("trees", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("whole_plot", sa.Boolean(), nullable=False),
        sa.Column("holder_name", sa.String(length=64), nullable=False),
        sa.Column("donation_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "active", "refunded", name="adoption_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("public_code", sa.String(length=32), nullable=False),
        sa.Column("certificate_number", sa.String(length=32), nullable=True),
        sa.Column("points", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("donation_fen > 0", name=op.f("ck_tree_adoptions_donation_positive")),
        sa.CheckConstraint("points >= 0", name=op.f("ck_tree_adoptions_points_non_negative")),
        sa.CheckConstraint("trees > 0", name=op.f("ck_tree_adoptions_trees_positive")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_tree_adoptions_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_tree_adoptions_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["plot_id"], ["forest_plots.id"], name=op.f("fk_tree_adoptions_plot_id_forest_plots")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_tree_adoptions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tree_adoptions")),
        sa.UniqueConstraint("certificate_number", name=op.f("uq_tree_adoptions_certificate_number")),
        sa.UniqueConstraint("order_id", name=op.f("uq_tree_adoptions_order_id")),
        sa.UniqueConstraint("public_code", name=op.f("uq_tree_adoptions_public_code")),
    )
    with op.batch_alter_table("tree_adoptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tree_adoptions_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index("ix_tree_adoptions_plot_id_status", ["plot_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_tree_adoptions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "forest_survival_checks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("planting_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("surviving", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("notes", sa.String(length=500), nullable=False),
        sa.Column("recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("surviving >= 0", name=op.f("ck_forest_survival_checks_surviving_non_negative")),
        sa.ForeignKeyConstraint(
            ["planting_id"],
            ["forest_plantings.id"],
            name=op.f("fk_forest_survival_checks_planting_id_forest_plantings"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_forest_survival_checks_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forest_survival_checks")),
        sa.UniqueConstraint(
            "planting_id", "checked_on", name=op.f("uq_forest_survival_checks_planting_id_checked_on")
        ),
    )
    with op.batch_alter_table("forest_survival_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forest_survival_checks_planting_id"), ["planting_id"], unique=False
        )


def downgrade() -> None:
    donations = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM orders WHERE channel = 'adoption'"))
    if donations.scalar():
        raise RuntimeError("Donation orders exist; they cannot be kept under `grams > 0`. Not downgraded.")
    for table in (
        "forest_survival_checks",
        "tree_adoptions",
        "land_compensations",
        "forest_plantings",
        "forest_plots",
        "memorial_forests",
    ):
        op.drop_table(table)
    _replace_orders_check("grams_by_channel", "grams_positive", "grams > 0")
