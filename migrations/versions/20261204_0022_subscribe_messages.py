"""subscribe messages: the templates a user accepted and the messages sent

`subscribe_allowances` counts, per user and template id, the one-time subscribe messages the user
still allows (each "accept" of `wx.requestSubscribeMessage` is one). `subscribe_messages` is the
outbox of messages about events (a certificate issued, a refund done, points about to expire, an
event neutralised, a bank-transfer order about to expire): unique per kind, subject and user, so a
message is enqueued once however often the scan runs, with how its sending went.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)
KINDS = (
    "certificate_issued",
    "refund_done",
    "points_expiring",
    "event_neutralised",
    "bank_transfer_expiring",
)
STATUSES = ("pending", "sending", "retrying", "sent", "refused", "failed", "skipped")


def upgrade() -> None:
    op.create_table(
        "subscribe_allowances",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("remaining", ID, nullable=False),
        sa.Column("last_result", sa.String(length=16), nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.CheckConstraint("remaining >= 0", name=op.f("ck_subscribe_allowances_remaining_non_negative")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_subscribe_allowances_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribe_allowances")),
        sa.UniqueConstraint(
            "user_id", "template_id", name=op.f("uq_subscribe_allowances_user_id_template_id")
        ),
    )
    op.create_table(
        "subscribe_messages",
        sa.Column("id", ID, nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*KINDS, name="subscribe_message_kind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("page", sa.String(length=255), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(*STATUSES, name="subscribe_message_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("attempts", ID, nullable=False),
        sa.Column("allowance_taken", sa.Boolean(), nullable=False),
        sa.Column("next_attempt_at", MOMENT, nullable=False),
        sa.Column("last_errcode", ID, nullable=True),
        sa.Column("last_error", sa.String(length=128), nullable=False),
        sa.Column("sent_at", MOMENT, nullable=True),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_subscribe_messages_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_subscribe_messages_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribe_messages")),
        # One message per event, subject and user, however often or concurrently the scan runs.
        sa.UniqueConstraint(
            "kind", "subject_id", "user_id", name=op.f("uq_subscribe_messages_kind_subject_id_user_id")
        ),
    )
    with op.batch_alter_table("subscribe_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscribe_messages_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index("ix_subscribe_messages_user_id_id", ["user_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("subscribe_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_subscribe_messages_user_id_id")
        batch_op.drop_index("ix_subscribe_messages_status_next_attempt_at")
    op.drop_table("subscribe_messages")
    op.drop_table("subscribe_allowances")
