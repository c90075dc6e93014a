"""Forestry: memorial forests, their plots, plantings and survival checks, tree adoptions, and the
land-use compensations of business projects that occupy forest land.

An adoption is a donation, never a sale of credits: it has no grams column, its order is a donation
order (channel `adoption`: no grams, no reservation, no lines, by the CHECK on `orders`), and a plot
whose sink is enrolled in a credit project of the pool (`credit_project_id`) takes no adoption.
So the projected sink of adopted trees is neither sold as credits nor counted twice.

A land-use compensation buys credits like any order; its fee is split between the state and the
forest-land owner when it is created, and the two parts add up to the order's amount exactly.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.accounts import _enum
from models.base import Base, TimestampMixin, utcnow
from models.pool import ProjectOwner
from models.public_codes import new_public_code

BASIS_POINTS = 10_000


class MemorialForest(TimestampMixin, Base):
    """A memorial carbon forest (碳汇林纪念基地): where donated trees are planted and adopted."""

    __tablename__ = "memorial_forests"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    place: Mapped[str] = mapped_column(String(200))
    # The forest-land owner (village collective, state forest farm, ...): the donations are theirs.
    owner_id: Mapped[int] = mapped_column(ForeignKey("project_owners.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))

    owner: Mapped[ProjectOwner] = relationship()


class ForestPlot(TimestampMixin, Base):
    """A plot of a memorial forest: its area, species and how many trees it takes."""

    __tablename__ = "forest_plots"
    __table_args__ = (
        UniqueConstraint("forest_id", "code"),
        CheckConstraint("area_m2 > 0", name="area_positive"),
        CheckConstraint("tree_capacity > 0", name="capacity_positive"),
        CheckConstraint("donation_fen_per_tree > 0", name="donation_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    forest_id: Mapped[int] = mapped_column(ForeignKey("memorial_forests.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    area_m2: Mapped[int]
    species: Mapped[Any] = mapped_column(JSON)  # ["侧柏", "油松"]
    tree_capacity: Mapped[int]
    donation_fen_per_tree: Mapped[int]
    # The credit project the plot's sink is enrolled in, if any: such a plot is never adopted, and a
    # plot with adoptions is never enrolled (services.forestry.plots, and the pool audit).
    credit_project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)

    forest: Mapped[MemorialForest] = relationship()


class Planting(Base):
    """Trees of one species planted on a plot, as the operator recorded them."""

    __tablename__ = "forest_plantings"
    __table_args__ = (
        CheckConstraint("trees > 0", name="trees_positive"),
        CheckConstraint("area_m2 > 0", name="area_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plot_id: Mapped[int] = mapped_column(ForeignKey("forest_plots.id"), index=True)
    species: Mapped[str] = mapped_column(String(64))
    trees: Mapped[int]
    area_m2: Mapped[int]
    planted_on: Mapped[date]
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurvivalCheck(Base):
    """A survival count of a planting on a day (成活率 = surviving / planted)."""

    __tablename__ = "forest_survival_checks"
    __table_args__ = (
        UniqueConstraint("planting_id", "checked_on"),
        CheckConstraint("surviving >= 0", name="surviving_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    planting_id: Mapped[int] = mapped_column(ForeignKey("forest_plantings.id"), index=True)
    checked_on: Mapped[date]
    surviving: Mapped[int]
    notes: Mapped[str] = mapped_column(String(500), default="")
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdoptionStatus(enum.StrEnum):
    PENDING = "pending"  # its donation order is not paid (yet)
    ACTIVE = "active"  # paid: the certificate and the points are issued
    REFUNDED = "refunded"  # the donation went back: certificate void, points reversed


class Adoption(TimestampMixin, Base):
    """Trees of a plot (or the whole plot) adopted by a person or an organisation for a donation.

    It carries no grams: what the trees will absorb is not a credit and is never sold.
    """

    __tablename__ = "tree_adoptions"
    __table_args__ = (
        CheckConstraint("trees > 0", name="trees_positive"),
        CheckConstraint("donation_fen > 0", name="donation_positive"),
        CheckConstraint("points >= 0", name="points_non_negative"),
        Index("ix_tree_adoptions_plot_id_status", "plot_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plot_id: Mapped[int] = mapped_column(ForeignKey("forest_plots.id"))
    # Who placed it; the adopter of record is the organisation when `organisation_id` is set.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    trees: Mapped[int]
    whole_plot: Mapped[bool] = mapped_column(default=False)
    holder_name: Mapped[str] = mapped_column(String(64))
    donation_fen: Mapped[int]
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    status: Mapped[AdoptionStatus] = mapped_column(
        _enum(AdoptionStatus, "adoption_status"), default=AdoptionStatus.PENDING
    )
    # The key of the public record and the certificate's verification (shown once it is paid).
    public_code: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_code)
    certificate_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    points: Mapped[int] = mapped_column(default=0)
    activated_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]

    plot: Mapped[ForestPlot] = relationship()


class LandCompensation(TimestampMixin, Base):
    """经营性项目用地碳汇补偿: the sink a business project occupying forest land buys with its permit.

    The fee (the order's amount) is split when it is created: `state_fen` to the state,
    `owner_fen` to the forest-land owner (the owner of the credits' project), by `state_share_bp`.
    """

    __tablename__ = "land_compensations"
    __table_args__ = (
        CheckConstraint("occupied_area_m2 > 0", name="area_positive"),
        CheckConstraint("grams > 0", name="grams_positive"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(f"state_share_bp >= 0 AND state_share_bp <= {BASIS_POINTS}", name="share_in_range"),
        CheckConstraint("state_fen >= 0 AND owner_fen >= 0", name="parts_non_negative"),
        CheckConstraint("state_fen + owner_fen = amount_fen", name="parts_add_up"),
        Index("ix_land_compensations_permit_number", "permit_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    permit_number: Mapped[str] = mapped_column(String(64))
    permit_authority: Mapped[str] = mapped_column(String(200))
    business_project: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(200), default="")
    occupied_area_m2: Mapped[int]
    # The per-area loss factor used (tCO2e per hectare, as text) and where it comes from.
    factor_t_per_ha: Mapped[str] = mapped_column(String(32))
    factor_source: Mapped[str] = mapped_column(String(300))
    grams: Mapped[int]
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    amount_fen: Mapped[int]
    state_share_bp: Mapped[int]
    state_fen: Mapped[int]
    owner_fen: Mapped[int]
    public_code: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_code)
    certificate_title: Mapped[str] = mapped_column(String(200))
    certificate_statement: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
