"""The rewards catalogue: items bought with carbon points, their coupon codes, and redemptions.

`stock` NULL means unlimited; a limited stock never goes below zero (`CHECK`), and redemptions
take it with a conditional update. A coupon code belongs to one item, is unique across the
catalogue and, once assigned, to exactly one redemption.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.accounts import _enum
from models.base import Base, TimestampMixin, utcnow


class RewardKind(enum.StrEnum):
    GIFT = "gift"
    VOUCHER = "voucher"
    SERVICE = "service"
    DONATION = "donation"
    TREE_PLANTING = "tree_planting"


class CouponState(enum.StrEnum):
    AVAILABLE = "available"
    ASSIGNED = "assigned"


class RedemptionState(enum.StrEnum):
    PENDING = "pending"
    ISSUED = "issued"
    USED = "used"
    CANCELLED = "cancelled"


class RewardItem(TimestampMixin, Base):
    __tablename__ = "reward_items"
    __table_args__ = (
        CheckConstraint("cost_points > 0", name="cost_positive"),
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        CheckConstraint("per_user_limit >= 1", name="per_user_limit_positive"),
        CheckConstraint(
            "valid_from IS NULL OR valid_until IS NULL OR valid_until > valid_from", name="window_ordered"
        ),
        Index("ix_reward_items_active_kind", "active", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RewardKind] = mapped_column(_enum(RewardKind, "reward_kind"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(String(512), default="")
    cost_points: Mapped[int]
    stock: Mapped[int | None]
    per_user_limit: Mapped[int | None]
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    # Each redemption of an item that uses codes is handed one of its coupon codes.
    uses_codes: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Redemption(TimestampMixin, Base):
    __tablename__ = "redemptions"
    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        Index("ix_redemptions_user_id_item_id", "user_id", "item_id"),
        Index("ix_redemptions_state_created_at", "state", "created_at"),
        Index("ix_redemptions_item_id_created_at", "item_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("reward_items.id"))
    points: Mapped[int]
    state: Mapped[RedemptionState] = mapped_column(
        _enum(RedemptionState, "redemption_state"), default=RedemptionState.PENDING
    )
    idempotency_key: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(String(200), default="")
    issued_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    item: Mapped[RewardItem] = relationship(lazy="joined", innerjoin=True)
    coupon: Mapped[CouponCode | None] = relationship(back_populates="redemption", lazy="joined")

    @property
    def coupon_code(self) -> str | None:
        return self.coupon.code if self.coupon is not None else None


class CouponCode(TimestampMixin, Base):
    __tablename__ = "coupon_codes"
    __table_args__ = (
        CheckConstraint(
            "(state = 'available' AND redemption_id IS NULL AND assigned_at IS NULL)"
            " OR (state = 'assigned' AND redemption_id IS NOT NULL AND assigned_at IS NOT NULL)",
            name="assigned_has_redemption",
        ),
        Index("ix_coupon_codes_item_id_state_id", "item_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("reward_items.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[CouponState] = mapped_column(
        _enum(CouponState, "coupon_state"), default=CouponState.AVAILABLE
    )
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"), unique=True)
    assigned_at: Mapped[datetime | None]

    redemption: Mapped[Redemption | None] = relationship(back_populates="coupon")
