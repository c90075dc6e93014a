"""account deletion and privacy: deletion requests, deleted accounts, the privacy guide's versions

A user may ask for their account to be deleted (账号注销): the request waits out a cooling-off
period, then the deletion job empties the account's identifying columns and marks it
`users.deleted_at`. The row itself stays (orders, certificates and the points ledger keep their
holder, pseudonymous), so the `users` CHECK `has_identity` now also allows a deleted account with
neither openid nor username. The privacy guide's published versions and each user's acceptances
are new tables.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)
OLD_IDENTITY = "openid IS NOT NULL OR username IS NOT NULL"
NEW_IDENTITY = "openid IS NOT NULL OR username IS NOT NULL OR deleted_at IS NOT NULL"
PENDING = "status = 'pending'"


def _rebuild_users(change) -> None:
    """Change `users` in one batch. SQLite rebuilds the table for a CHECK: with foreign keys on,
    dropping the old table would delete (or cascade into) every row that refers to a user, so they
    are off for the rebuild, and the references are checked before they are on again."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
        if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
            raise RuntimeError("SQLite foreign keys could not be turned off (a transaction is open).")
    with op.batch_alter_table("users") as batch_op:
        change(batch_op)
    if sqlite:
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"Rebuilding users broke references: {broken[:5]}")
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")


def _add_deleted_at(batch_op) -> None:
    batch_op.add_column(sa.Column("deleted_at", MOMENT, nullable=True))
    batch_op.drop_constraint(op.f("ck_users_has_identity"), type_="check")
    batch_op.create_check_constraint("has_identity", NEW_IDENTITY)


def _drop_deleted_at(batch_op) -> None:
    batch_op.drop_constraint(op.f("ck_users_has_identity"), type_="check")
    batch_op.create_check_constraint("has_identity", OLD_IDENTITY)
    batch_op.drop_column("deleted_at")


def upgrade() -> None:
    _rebuild_users(_add_deleted_at)
    op.create_table(
        "account_deletions",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "cancelled", "completed", name="deletion_status", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("due_at", MOMENT, nullable=False),
        sa.Column("cancelled_at", MOMENT, nullable=True),
        sa.Column(
            "cancelled_by",
            sa.Enum("user", "login", name="deletion_canceller", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("completed_at", MOMENT, nullable=True),
        sa.Column("completed_by", ID, nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.CheckConstraint(
            "(status = 'pending' AND cancelled_at IS NULL AND completed_at IS NULL)"
            " OR (status = 'cancelled' AND cancelled_at IS NOT NULL AND completed_at IS NULL)"
            " OR (status = 'completed' AND completed_at IS NOT NULL AND cancelled_at IS NULL)",
            name=op.f("ck_account_deletions_times_match_status"),
        ),
        sa.ForeignKeyConstraint(
            ["completed_by"], ["users.id"], name=op.f("fk_account_deletions_completed_by_users")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_account_deletions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_deletions")),
    )
    with op.batch_alter_table("account_deletions") as batch_op:
        batch_op.create_index("ix_account_deletions_status_due_at", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_account_deletions_user_id_id", ["user_id", "id"], unique=False)
        batch_op.create_index(
            "uq_account_deletions_user_id_pending",
            ["user_id"],
            unique=True,
            sqlite_where=sa.text(PENDING),
            postgresql_where=sa.text(PENDING),
        )

    op.create_table(
        "privacy_guide_versions",
        sa.Column("id", ID, nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published_at", MOMENT, nullable=False),
        sa.Column("published_by", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["published_by"], ["users.id"], name=op.f("fk_privacy_guide_versions_published_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_guide_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_privacy_guide_versions_version")),
    )
    op.create_table(
        "privacy_acceptances",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("accepted_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_privacy_acceptances_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_acceptances")),
        sa.UniqueConstraint("user_id", "version", name=op.f("uq_privacy_acceptances_user_id_version")),
    )


def downgrade() -> None:
    op.drop_table("privacy_acceptances")
    op.drop_table("privacy_guide_versions")
    with op.batch_alter_table("account_deletions") as batch_op:
        batch_op.drop_index("uq_account_deletions_user_id_pending")
        batch_op.drop_index("ix_account_deletions_user_id_id")
        batch_op.drop_index("ix_account_deletions_status_due_at")
    op.drop_table("account_deletions")
    _rebuild_users(_drop_deleted_at)
