"""Audit checks of forestry, added to every pool audit run (registered when bootstrap imports this).

- Adopted trees are never credits: no donation order has an order line (the CHECK on `orders`
  already keeps their grams at zero and their reservation empty), and no adoption is on a plot
  whose sink is enrolled in a credit project.
- An adoption's figures are its order's: the donation is the order's amount, its state follows the
  order's (active = fulfilled, refunded = refunded), and a plot's active adoptions fit its trees.
- A land-use compensation's fee is its order's amount and its grams the order's grams, and its two
  parts (state, forest-land owner) add up to it (a CHECK too).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    Adoption,
    AdoptionStatus,
    Channel,
    ForestPlot,
    LandCompensation,
    Order,
    OrderLine,
    OrderStatus,
)
from services.pool.pool_audit import Violation, register_check

FOLLOWS = {
    AdoptionStatus.ACTIVE: {OrderStatus.FULFILLED},
    AdoptionStatus.REFUNDED: {OrderStatus.REFUNDED},
}


@register_check
def adopted_trees_are_not_credits(session: Session) -> Iterator[Violation]:
    for number, lines in session.execute(
        select(Order.out_trade_no, func.count(OrderLine.id))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.channel == Channel.ADOPTION)
        .group_by(Order.out_trade_no)
    ):
        yield Violation("adoption-credit", f"order {number}", f"a donation order has {lines} credit lines")
    for adoption_id, plot_code, project_id in session.execute(
        select(Adoption.id, ForestPlot.code, ForestPlot.credit_project_id)
        .join(ForestPlot, ForestPlot.id == Adoption.plot_id)
        .where(ForestPlot.credit_project_id.is_not(None), Adoption.status == AdoptionStatus.ACTIVE)
    ):
        yield Violation(
            "adoption-credit",
            f"adoption {adoption_id}",
            f"plot {plot_code} is adopted and enrolled in credit project {project_id}: its sink counted twice",
        )


@register_check
def adoptions_match_their_orders(session: Session) -> Iterator[Violation]:
    rows = session.execute(
        select(
            Adoption.id, Adoption.status, Adoption.donation_fen, Order.amount_fen, Order.status, Order.channel
        )
        .join(Order, Order.id == Adoption.order_id)
        .order_by(Adoption.id)
    )
    for adoption_id, status, donation, amount, order_status, channel in rows:
        subject = f"adoption {adoption_id}"
        if channel is not Channel.ADOPTION or donation != amount:
            yield Violation(
                "adoption-order", subject, f"donation {donation} fen, order {channel} of {amount} fen"
            )
        expected = FOLLOWS.get(status)
        if expected is not None and order_status not in expected:
            yield Violation(
                "adoption-order", subject, f"{status.value} but its order is {order_status.value}"
            )
        if status is AdoptionStatus.PENDING and order_status is OrderStatus.FULFILLED:
            yield Violation("adoption-order", subject, "pending but its order is fulfilled")
    held = (
        select(Adoption.plot_id, func.sum(Adoption.trees).label("trees"))
        .where(Adoption.status == AdoptionStatus.ACTIVE)
        .group_by(Adoption.plot_id)
        .subquery()
    )
    for code, capacity, trees in session.execute(
        select(ForestPlot.code, ForestPlot.tree_capacity, held.c.trees)
        .join(held, held.c.plot_id == ForestPlot.id)
        .where(held.c.trees > ForestPlot.tree_capacity)
    ):
        yield Violation("adoption-trees", f"plot {code}", f"{trees} trees adopted of {capacity}")


@register_check
def compensations_match_their_orders(session: Session) -> Iterator[Violation]:
    rows = session.execute(
        select(
            LandCompensation.id,
            LandCompensation.amount_fen,
            LandCompensation.grams,
            LandCompensation.state_fen,
            LandCompensation.owner_fen,
            Order.amount_fen,
            Order.grams,
            Order.channel,
        )
        .join(Order, Order.id == LandCompensation.order_id)
        .order_by(LandCompensation.id)
    )
    for row_id, fee, grams, state, owner, amount, order_grams, channel in rows:
        if (
            channel is not Channel.LAND_COMPENSATION
            or fee != amount
            or grams != order_grams
            or state + owner != fee
        ):
            yield Violation(
                "compensation-order",
                f"land compensation {row_id}",
                f"fee {fee} fen ({state} + {owner}), {grams} g; its {channel} order {amount} fen, {order_grams} g",
            )
