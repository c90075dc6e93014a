"""Subscribe messages (订阅消息): the sends a user allowed, and the outbox of messages to send.

A one-time subscribe message may be sent once for each time the user accepted its template in
`wx.requestSubscribeMessage`: `SubscribeAllowance.remaining` counts what is left, per user and
template id. `SubscribeMessage` is the outbox: one row per (kind of event, subject, user), so a
message is enqueued once however often the scan that finds events runs; the row records how its
sending went (status, attempts, WeChat's last errcode), never the access token.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.accounts import _enum
from models.base import Base, TimestampMixin, utcnow


class MessageKind(enum.StrEnum):
    """What happened, each with its own template (settings `SUBSCRIBE_TEMPLATE_*`)."""

    CERTIFICATE_ISSUED = "certificate_issued"
    REFUND_DONE = "refund_done"
    POINTS_EXPIRING = "points_expiring"
    EVENT_NEUTRALISED = "event_neutralised"
    BANK_TRANSFER_EXPIRING = "bank_transfer_expiring"


class MessageStatus(enum.StrEnum):
    PENDING = "pending"
    # Claimed by a run of the job; `next_attempt_at` is when the claim lapses.
    SENDING = "sending"
    # WeChat failed for now (busy, 5xx, a timeout): tried again at `next_attempt_at`.
    RETRYING = "retrying"
    SENT = "sent"
    # The user cannot receive it: no send allowed left, or WeChat answered 43101.
    REFUSED = "refused"
    # WeChat refused the message itself, or every attempt failed.
    FAILED = "failed"
    # No WeChat credentials (the embedded demo): nothing is sent.
    SKIPPED = "skipped"


# The results `wx.requestSubscribeMessage` gives for each template id.
SUBSCRIBE_RESULTS = ("accept", "reject", "ban", "filter")


class SubscribeAllowance(Base):
    """How many messages of one template the user still allows (each "accept" is one)."""

    __tablename__ = "subscribe_allowances"
    __table_args__ = (
        UniqueConstraint("user_id", "template_id"),
        CheckConstraint("remaining >= 0", name="remaining_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(String(128))
    remaining: Mapped[int] = mapped_column(default=0)
    # The last result the mini-program reported: accept, reject, ban or filter.
    last_result: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SubscribeMessage(TimestampMixin, Base):
    """One message to one user about one event: the outbox row, and how its sending went."""

    __tablename__ = "subscribe_messages"
    __table_args__ = (
        UniqueConstraint("kind", "subject_id", "user_id"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_subscribe_messages_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_subscribe_messages_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind, "subscribe_message_kind"))
    # What the message is about: a certificate, refund, event or order id, or a day points expire.
    subject_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(String(128))
    page: Mapped[str] = mapped_column(String(255), default="")
    # WeChat's `data`: {"thing1": {"value": "..."}, ...}, cut to each field's limits.
    data: Mapped[Any] = mapped_column(JSON)
    status: Mapped[MessageStatus] = mapped_column(
        _enum(MessageStatus, "subscribe_message_status"), default=MessageStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    # Whether one of the user's allowances is held for this message: taken when it is claimed for
    # sending, kept once sent, given back when it ends otherwise.
    allowance_taken: Mapped[bool] = mapped_column(default=False)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_errcode: Mapped[int | None]
    # The kind of the last failure (`Timeout`, `no_allowance`, WeChat's errmsg cut short), never a URL.
    last_error: Mapped[str] = mapped_column(String(128), default="")
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
