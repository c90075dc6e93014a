"""content security checks of user text and organisers' bound phone numbers

`content_checks` holds the texts users wrote (display names, certificate holder names, event names)
that public surfaces must not show yet: WeChat's msgSecCheck could not be asked or answered
"review" (`pending`, re-checked by the worker), or a re-check found them risky (`risky`). A text
with no row is public, so every text written before this revision stays as it was.

`phone_numbers` holds each user's bound phone number, only as its ciphertext (Fernet under
`PHONE_ENCRYPTION_KEY`); it goes with the user row (ON DELETE CASCADE), and account deletion
deletes it.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "content_checks",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "risky", name="content_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("suggest", sa.String(length=16), nullable=True),
        sa.Column("label", ID, nullable=True),
        sa.Column("author_id", ID, nullable=True),
        sa.Column("attempts", ID, nullable=False),
        sa.Column("next_check_at", MOMENT, nullable=True),
        sa.Column("checked_at", MOMENT, nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_content_checks_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_checks")),
        sa.UniqueConstraint("kind", "subject", name=op.f("uq_content_checks_kind_subject")),
    )
    op.create_index(
        op.f("ix_content_checks_next_check_at"), "content_checks", ["next_check_at"], unique=False
    )
    op.create_table(
        "phone_numbers",
        sa.Column("user_id", ID, nullable=False),
        sa.Column("ciphertext", sa.String(length=512), nullable=False),
        sa.Column("bound_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_phone_numbers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_phone_numbers")),
    )


def downgrade() -> None:
    op.drop_table("phone_numbers")
    op.drop_index(op.f("ix_content_checks_next_check_at"), table_name="content_checks")
    op.drop_table("content_checks")
