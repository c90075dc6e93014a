"""opaque public codes and membership invitations

Events and institutional claims get a random public code: their public pages answer under it,
never under the sequential id. Rows made before are given a code here. Organisations get
invitations: a user becomes an organiser by accepting one.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 12:00:00.000000
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# As models.public_codes at the time of writing: 20 symbols of a 32-symbol alphabet.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
TABLES = ("events", "institutional_claims")


def _code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(20))


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("public_code", sa.String(length=32), nullable=True))
        rows = sa.table(table, sa.column("id", ID), sa.column("public_code", sa.String(32)))
        for (row_id,) in bind.execute(sa.select(rows.c.id)).all():
            bind.execute(sa.update(rows).where(rows.c.id == row_id).values(public_code=_code()))
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("public_code", existing_type=sa.String(length=32), nullable=False)
            batch_op.create_unique_constraint(batch_op.f(f"uq_{table}_public_code"), ["public_code"])

    op.create_table(
        "organisation_invitations",
        sa.Column("id", ID, nullable=False),
        sa.Column("organisation_id", ID, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("invitee_id", ID, nullable=True),
        sa.Column("invited_by", ID, nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "accepted",
                "declined",
                "revoked",
                name="invitation_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["accepted_by"], ["users.id"], name=op.f("fk_organisation_invitations_accepted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["users.id"], name=op.f("fk_organisation_invitations_invited_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_invitations_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_invitations")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_organisation_invitations_code_hash")),
    )
    with op.batch_alter_table("organisation_invitations") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organisation_invitations_invitee_id"), ["invitee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_organisation_invitations_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("organisation_invitations") as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisation_invitations_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_organisation_invitations_invitee_id"))
    op.drop_table("organisation_invitations")
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"uq_{table}_public_code"), type_="unique")
            batch_op.drop_column("public_code")
