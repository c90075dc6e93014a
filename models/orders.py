"""Orders of carbon credits, their lines, state transitions, payment events and refunds."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.accounts import _enum
from models.base import Base, TimestampMixin, utcnow


class OrderStatus(enum.StrEnum):
    CREATED = "created"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class Channel(enum.StrEnum):
    ONE_YUAN = "one_yuan"
    CREDITS = "credits"
    FOOTPRINT_OFFSET = "footprint_offset"
    EVENT = "event"
    INSTITUTIONAL = "institutional"
    # A donation for adopted trees (services.forestry): no grams, no reservation, no lines.
    ADOPTION = "adoption"
    LAND_COMPENSATION = "land_compensation"


OPEN_BY_PERSON = "organisation_id IS NULL AND status IN ('created', 'awaiting_payment')"
# Every order takes grams from the pool, except a donation, which takes none and holds no reservation:
# what adopted trees absorb is never sold as credits.
GRAMS_BY_CHANNEL = (
    "(channel <> 'adoption' AND grams > 0) OR (channel = 'adoption' AND grams = 0 AND reservation_id IS NULL)"
)


class Order(TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(GRAMS_BY_CHANNEL, name="grams_by_channel"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refund_within_amount"),
        CheckConstraint("refunded_g >= 0 AND refunded_g <= grams", name="refund_within_grams"),
        Index("ix_orders_status_expires_at", "status", "expires_at"),
        Index("ix_orders_user_id_created_at", "user_id", "created_at"),
        # A person's open orders only: what the caps on unpaid orders and reserved grams count.
        Index(
            "ix_orders_open_by_user",
            "user_id",
            "expires_at",
            postgresql_where=text(OPEN_BY_PERSON),
            sqlite_where=text(OPEN_BY_PERSON),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The merchant order number sent to WeChat Pay as out_trade_no.
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    # Who placed the order; the buyer of record unless `organisation_id` is set.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The buyer of record of an organisation's purchase (an event offset, an institutional claim):
    # its points go to the organisation, never to the member who placed it. None: a personal purchase.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "order_channel"))
    status: Mapped[OrderStatus] = mapped_column(
        _enum(OrderStatus, "order_status"), default=OrderStatus.CREATED
    )
    grams: Mapped[int]
    amount_fen: Mapped[int]
    refunded_fen: Mapped[int] = mapped_column(default=0)
    refunded_g: Mapped[int] = mapped_column(default=0)
    units: Mapped[int | None]
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("project_owners.id"))
    holder_name: Mapped[str] = mapped_column(String(64), default="")
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("reservations.id"), unique=True)
    provider: Mapped[str] = mapped_column(String(32))
    prepay_id: Mapped[str | None] = mapped_column(String(128))
    transaction_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    # When WeChat Pay confirmed the trade of an unpaid order closed (or never opened): until then an
    # expired or cancelled order may still have been paid, and the sync job asks about it.
    trade_closed_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    fulfilled_at: Mapped[datetime | None]
    # What the order was created for (a footprint, an event, ...), for other parts of the service.
    source_type: Mapped[str | None] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(64))

    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", order_by="OrderLine.id")
    events: Mapped[list[OrderEvent]] = relationship(order_by="OrderEvent.id")


class OrderLine(Base):
    """The grams an order takes from one batch, at the price it was sold for."""

    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "batch_id"),
        CheckConstraint("grams > 0", name="grams_positive"),
        CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
        CheckConstraint("refunded_g >= 0 AND refunded_g <= grams", name="refund_within_grams"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    grams: Mapped[int]
    refunded_g: Mapped[int] = mapped_column(default=0)
    price_fen_per_t: Mapped[int]
    amount_fen: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="lines")


class OrderEvent(Base):
    """One state transition of an order, with its time."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(255), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentEvent(Base):
    """A notification or query result from the payment provider, unique on the provider's id."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("kind", "provider_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(64))
    raw: Mapped[Any | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefundStatus(enum.StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(TimestampMixin, Base):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("grams >= 0", name="grams_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    refund_id: Mapped[str | None] = mapped_column(String(64))
    grams: Mapped[int]
    amount_fen: Mapped[int]
    status: Mapped[RefundStatus] = mapped_column(
        _enum(RefundStatus, "refund_status"), default=RefundStatus.PROCESSING
    )
    reason: Mapped[str] = mapped_column(String(255), default="")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # True when the refund was made because a late payment found no grams left.
    automatic: Mapped[bool] = mapped_column(default=False)
    # True for the refund of a bank-transfer order: paid back by bank, completed by an admin's record.
    offline: Mapped[bool] = mapped_column(default=False)
    # The payment this refund returns when it is not the order's own: a second payment of an order
    # already paid, refunded automatically. Such a refund leaves the order and its figures unchanged.
    transaction_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The bank's reference of the payout of an offline refund.
    bank_reference: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[datetime | None]


class IdempotencyKey(TimestampMixin, Base):
    """A stored answer to an order-creating request, replayed for the same key and body."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(64))


class RefundLine(Base):
    """The part of a succeeded refund that falls on one order line: grams returned and fen repaid.

    For every succeeded refund its lines add up to its grams and its fen, and for every order line
    the refund lines add up to its `refunded_g`; so what a line earned in a period is exact.
    """

    __tablename__ = "refund_lines"
    __table_args__ = (
        UniqueConstraint("refund_id", "order_line_id"),
        CheckConstraint("grams >= 0", name="grams_non_negative"),
        CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), index=True)
    grams: Mapped[int]
    amount_fen: Mapped[int]
