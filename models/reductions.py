"""Personal reductions sold as credits: monthly batches of users' actions, their sales and proceeds.

A `ReductionBatch` gathers the reviewed, unflagged low-carbon actions of one Beijing month and one
methodology. Each action is in at most one batch (`ReductionBatchAction.action_id` is unique), so
no gram is sold twice. A batch goes draft → submitted (the registry's application reference) →
issued (the quantity the registry issued, in whole tonnes, at most the batch's grams, entered in the
pool as a batch of its own) or rejected.

When an order buys grams of the pool batch, a `ReductionSale` records the order line's proceeds:
`operator_fen + distributable_fen = amount_fen`, and the distributable part becomes `points` shared
out to the contributors (`ReductionProceeds`), pro rata to their grams, the shares adding up exactly.
A refund reverses the sale (`reversed_at`) and records what is still sold as a new one, so at most
one sale of each order line is active.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.accounts import _enum
from models.base import Base, TimestampMixin


class ReductionBatchStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ISSUED = "issued"
    REJECTED = "rejected"


class ReductionBatch(TimestampMixin, Base):
    """The reductions of one month and methodology, on their way to the registry and the pool."""

    __tablename__ = "reduction_batches"
    __table_args__ = (
        UniqueConstraint("month", "methodology", "sequence"),
        CheckConstraint("grams > 0", name="grams_positive"),
        CheckConstraint("actions > 0 AND contributors > 0 AND contributors <= actions", name="counts"),
        CheckConstraint("sequence >= 1", name="sequence_positive"),
        CheckConstraint(
            "issued_g IS NULL OR (issued_g > 0 AND issued_g <= grams)", name="issued_within_grams"
        ),
        CheckConstraint(
            "status = 'draft' OR (application_ref <> '' AND submitted_at IS NOT NULL)",
            name="submitted_has_application",
        ),
        CheckConstraint(
            "status <> 'issued' OR (issued_g IS NOT NULL AND pool_batch_id IS NOT NULL"
            " AND registry_ref <> '' AND issued_at IS NOT NULL)",
            name="issued_has_registry_record",
        ),
        CheckConstraint("status <> 'rejected' OR rejected_at IS NOT NULL", name="rejected_has_time"),
        Index("ix_reduction_batches_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The first day of the Beijing month whose actions the batch holds.
    month: Mapped[date]
    methodology: Mapped[str] = mapped_column(String(64))
    # 1 for the first batch of a month and methodology; later ones gather actions reviewed since.
    sequence: Mapped[int] = mapped_column(default=1)
    status: Mapped[ReductionBatchStatus] = mapped_column(
        _enum(ReductionBatchStatus, "reduction_batch_status"), default=ReductionBatchStatus.DRAFT
    )
    grams: Mapped[int]
    actions: Mapped[int]
    contributors: Mapped[int]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    # The registry's number of the application for issuance.
    application_ref: Mapped[str] = mapped_column(String(200), default="")
    submitted_at: Mapped[datetime | None]
    # What the registry issued: whole tonnes, in grams; its reference and the batch entered in the pool.
    issued_g: Mapped[int | None]
    registry_ref: Mapped[str] = mapped_column(String(200), default="")
    registry_url: Mapped[str] = mapped_column(String(512), default="")
    serial_prefix: Mapped[str] = mapped_column(String(64), default="")
    issued_on: Mapped[date | None]
    issued_at: Mapped[datetime | None]
    pool_batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), unique=True)
    rejected_at: Mapped[datetime | None]
    reject_reason: Mapped[str] = mapped_column(String(255), default="")


class ReductionBatchAction(Base):
    """One action's grams in a batch. An action is in one batch at most, whatever the batch's fate.

    `grams` is the action's credited reduction when the batch was made; the user and action go to
    NULL if the account is deleted, so the batch's grams still add up.
    """

    __tablename__ = "reduction_batch_actions"
    __table_args__ = (
        CheckConstraint("grams > 0", name="grams_positive"),
        Index("ix_reduction_batch_actions_batch_id_user_id", "batch_id", "user_id"),
        Index("ix_reduction_batch_actions_user_id_batch_id", "user_id", "batch_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("reduction_batches.id", ondelete="CASCADE"))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    grams: Mapped[int]


class ReductionSale(TimestampMixin, Base):
    """The proceeds of one order line of an issued batch's grams, and the points they became."""

    __tablename__ = "reduction_sales"
    __table_args__ = (
        CheckConstraint("grams >= 0 AND amount_fen >= 0", name="figures_non_negative"),
        CheckConstraint(
            "operator_fen >= 0 AND distributable_fen >= 0 AND operator_fen + distributable_fen = amount_fen",
            name="proceeds_add_up",
        ),
        CheckConstraint("points >= 0", name="points_non_negative"),
        CheckConstraint("share_permille >= 0 AND share_permille <= 1000", name="share_within_whole"),
        # At most one sale of an order line stands; a refund reverses it and records the rest anew.
        Index(
            "uq_reduction_sales_active_order_line_id",
            "order_line_id",
            unique=True,
            postgresql_where=text("reversed_at IS NULL"),
            sqlite_where=text("reversed_at IS NULL"),
        ),
        Index("ix_reduction_sales_batch_id_id", "batch_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("reduction_batches.id"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    # The refund after which these figures hold; None: as the order was fulfilled.
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    # The points ledger source of this sale's awards.
    source_id: Mapped[str] = mapped_column(String(64), unique=True)
    grams: Mapped[int]
    amount_fen: Mapped[int]
    share_permille: Mapped[int]
    operator_fen: Mapped[int]
    distributable_fen: Mapped[int]
    points_per_fen: Mapped[int]
    points: Mapped[int]
    reversed_at: Mapped[datetime | None]


class ReductionProceeds(Base):
    """One contributor's part of a sale: their grams in the batch, their share of the grams sold and
    of the points. The parts of a sale add up to its grams and its points exactly."""

    __tablename__ = "reduction_proceeds"
    __table_args__ = (
        UniqueConstraint("sale_id", "user_id"),
        CheckConstraint("contributed_g > 0 AND sold_g >= 0 AND points >= 0", name="figures"),
        Index("ix_reduction_proceeds_user_id_sale_id", "user_id", "sale_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("reduction_sales.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    contributed_g: Mapped[int]
    sold_g: Mapped[int]
    points: Mapped[int]
