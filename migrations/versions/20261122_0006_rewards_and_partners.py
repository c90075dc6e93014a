"""rewards catalogue, coupon codes, redemptions; bank partners, consents, nonces and access log

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-22 04:36:54.927823
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("key_id", name=op.f("uq_partners_key_id")),
        sa.UniqueConstraint("name", name=op.f("uq_partners_name")),
    )
    op.create_table(
        "reward_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "gift",
                "voucher",
                "service",
                "donation",
                "tree_planting",
                name="reward_kind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("image_url", sa.String(length=512), nullable=False),
        sa.Column("cost_points", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("stock", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("per_user_limit", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("uses_codes", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("cost_points > 0", name=op.f("ck_reward_items_cost_positive")),
        sa.CheckConstraint("per_user_limit >= 1", name=op.f("ck_reward_items_per_user_limit_positive")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_reward_items_stock_non_negative")),
        sa.CheckConstraint(
            "valid_from IS NULL OR valid_until IS NULL OR valid_until > valid_from",
            name=op.f("ck_reward_items_window_ordered"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_items")),
    )
    with op.batch_alter_table("reward_items", schema=None) as batch_op:
        batch_op.create_index("ix_reward_items_active_kind", ["active", "kind"], unique=False)

    op.create_table(
        "partner_access_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum("granted", "denied", name="partner_access_outcome", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_access_log_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_partner_access_log_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_access_log")),
    )
    with op.batch_alter_table("partner_access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_access_log_partner_id"), ["partner_id"], unique=False)
        batch_op.create_index("ix_partner_access_log_user_id_at", ["user_id", "at"], unique=False)

    op.create_table(
        "partner_consents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_consents_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_partner_consents_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_consents")),
    )
    with op.batch_alter_table("partner_consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_consents_partner_id"), ["partner_id"], unique=False)
        batch_op.create_index(
            "ix_partner_consents_user_id_partner_id", ["user_id", "partner_id"], unique=False
        )

    op.create_table(
        "partner_nonces",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_nonces_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_nonces")),
        sa.UniqueConstraint("partner_id", "nonce", name=op.f("uq_partner_nonces_partner_id_nonce")),
    )
    with op.batch_alter_table("partner_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_nonces_created_at"), ["created_at"], unique=False)

    op.create_table(
        "redemptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("points", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "issued",
                "used",
                "cancelled",
                name="redemption_state",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("points > 0", name=op.f("ck_redemptions_points_positive")),
        sa.ForeignKeyConstraint(
            ["item_id"], ["reward_items.id"], name=op.f("fk_redemptions_item_id_reward_items")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_redemptions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
    )
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.create_index("ix_redemptions_item_id_created_at", ["item_id", "created_at"], unique=False)
        batch_op.create_index("ix_redemptions_state_created_at", ["state", "created_at"], unique=False)
        batch_op.create_index("ix_redemptions_user_id_item_id", ["user_id", "item_id"], unique=False)

    op.create_table(
        "coupon_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column(
            "state",
            sa.Enum("available", "assigned", name="coupon_state", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("redemption_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(state = 'available' AND redemption_id IS NULL AND assigned_at IS NULL) OR (state = 'assigned' AND redemption_id IS NOT NULL AND assigned_at IS NOT NULL)",
            name=op.f("ck_coupon_codes_assigned_has_redemption"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["reward_items.id"],
            name=op.f("fk_coupon_codes_item_id_reward_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"], ["redemptions.id"], name=op.f("fk_coupon_codes_redemption_id_redemptions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_coupon_codes_code")),
        sa.UniqueConstraint("redemption_id", name=op.f("uq_coupon_codes_redemption_id")),
    )
    with op.batch_alter_table("coupon_codes", schema=None) as batch_op:
        batch_op.create_index("ix_coupon_codes_item_id_state_id", ["item_id", "state", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("coupon_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_coupon_codes_item_id_state_id")

    op.drop_table("coupon_codes")
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_redemptions_user_id_item_id")
        batch_op.drop_index("ix_redemptions_state_created_at")
        batch_op.drop_index("ix_redemptions_item_id_created_at")

    op.drop_table("redemptions")
    with op.batch_alter_table("partner_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_nonces_created_at"))

    op.drop_table("partner_nonces")
    with op.batch_alter_table("partner_consents", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_consents_user_id_partner_id")
        batch_op.drop_index(batch_op.f("ix_partner_consents_partner_id"))

    op.drop_table("partner_consents")
    with op.batch_alter_table("partner_access_log", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_access_log_user_id_at")
        batch_op.drop_index(batch_op.f("ix_partner_access_log_partner_id"))

    op.drop_table("partner_access_log")
    with op.batch_alter_table("reward_items", schema=None) as batch_op:
        batch_op.drop_index("ix_reward_items_active_kind")

    op.drop_table("reward_items")
    op.drop_table("partners")
