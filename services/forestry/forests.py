"""Memorial forests and their plots: what the operator sets up, and what anyone may browse.

A plot takes at most `tree_capacity` adopted trees. A plot whose sink is enrolled in a credit
project of the pool is never adopted, and a plot with adoptions is never enrolled: so no tree's
sink is both a donor's and a buyer's of credits (`enrol_plot`, `adoptions.adopt`, and the pool
audit's `forestry_audit`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models import (
    Adoption,
    AdoptionStatus,
    ForestPlot,
    MemorialForest,
    Order,
    Project,
    ProjectOwner,
    utcnow,
)
from models.database import read_session, unit_of_work
from services.accounts.tokens import Principal
from services.kernel import audit
from services.kernel.errors import Conflict, NotFound, ValidationFailed
from services.kernel.paging import objects_page
from services.sales import order_states

MAX_SPECIES = 20


def _forest(session: Session, forest_id: int) -> MemorialForest:
    forest = session.get(MemorialForest, forest_id)
    if forest is None:
        raise NotFound(f"Memorial forest {forest_id} does not exist.")
    return forest


def plot_in(session: Session, plot_id: int, lock: bool = False) -> ForestPlot:
    """A plot (locked for update when `lock`), or NotFound."""
    plot = session.get(ForestPlot, plot_id, with_for_update=lock, populate_existing=lock)
    if plot is None:
        raise NotFound(f"Plot {plot_id} does not exist.", errors={"plot_id": ["unknown plot"]})
    return plot


def create_forest(principal: Principal, values: dict[str, Any]) -> MemorialForest:
    """Set up a memorial forest (admin): its code, name, place and forest-land owner."""
    principal.require_admin()
    with unit_of_work() as session:
        if session.get(ProjectOwner, values["owner_id"]) is None:
            raise NotFound(
                f"Owner {values['owner_id']} does not exist.", errors={"owner_id": ["unknown owner"]}
            )
        if session.scalar(select(MemorialForest.id).where(MemorialForest.code == values["code"])):
            raise Conflict(f"A memorial forest has the code {values['code']} already.")
        forest = MemorialForest(
            code=values["code"],
            name=values["name"],
            place=values["place"],
            owner_id=values["owner_id"],
            description=values.get("description", ""),
            created_by=principal.user_id,
        )
        session.add(forest)
        session.flush()
        audit.record(session, principal.user_id, "forest.create", "memorial_forest", forest.id, None, values)
    return forest


def list_forests(page: int, page_size: int) -> tuple[list[MemorialForest], int]:
    """Memorial forests, newest first."""
    return objects_page(
        read_session(), select(MemorialForest).order_by(MemorialForest.id.desc()), page, page_size
    )


def get_forest(forest_id: int) -> MemorialForest:
    return _forest(read_session(), forest_id)


def _species(values: list[str]) -> list[str]:
    names = [name.strip() for name in values if name.strip()]
    if not names or len(names) > MAX_SPECIES or len(set(names)) != len(names):
        raise ValidationFailed(
            f"Name 1 to {MAX_SPECIES} different species.", errors={"species": ["1 to 20 distinct names"]}
        )
    return names


def _require_project(session: Session, project_id: int | None) -> None:
    if project_id is not None and session.get(Project, project_id) is None:
        raise NotFound(
            f"Project {project_id} does not exist.", errors={"credit_project_id": ["unknown project"]}
        )


def create_plot(principal: Principal, forest_id: int, values: dict[str, Any]) -> ForestPlot:
    """Add a plot to a forest (admin): code, area, species, trees it takes, donation per tree."""
    principal.require_admin()
    with unit_of_work() as session:
        _forest(session, forest_id)
        _require_project(session, values.get("credit_project_id"))
        taken = session.scalar(
            select(ForestPlot.id).where(ForestPlot.forest_id == forest_id, ForestPlot.code == values["code"])
        )
        if taken:
            raise Conflict(f"This forest has a plot {values['code']} already.")
        plot = ForestPlot(
            forest_id=forest_id,
            code=values["code"],
            area_m2=values["area_m2"],
            species=_species(values["species"]),
            tree_capacity=values["tree_capacity"],
            donation_fen_per_tree=values["donation_fen_per_tree"],
            credit_project_id=values.get("credit_project_id"),
        )
        session.add(plot)
        session.flush()
        audit.record(session, principal.user_id, "plot.create", "forest_plot", plot.id, None, values)
    return plot


def holding(now: datetime) -> Any:
    """The SQL condition of an adoption that holds its trees: active, or pending with its donation
    order still open for payment."""
    return or_(
        Adoption.status == AdoptionStatus.ACTIVE,
        (Adoption.status == AdoptionStatus.PENDING)
        & Order.status.in_([status.value for status in order_states.OPEN])
        & (Order.expires_at > now),
    )


def held_trees(session: Session, plot_id: int, now: datetime | None = None) -> int:
    """Trees of a plot held by adoptions (active, or waiting for their payment)."""
    held = session.scalar(
        select(func.coalesce(func.sum(Adoption.trees), 0))
        .join(Order, Order.id == Adoption.order_id)
        .where(Adoption.plot_id == plot_id, holding(now or utcnow()))
    )
    return int(held or 0)


def enrol_plot(principal: Principal, plot_id: int, credit_project_id: int | None) -> ForestPlot:
    """Enrol a plot's sink in a credit project of the pool, or take it out (admin).

    A plot that anyone has adopted (or is adopting) is refused: its trees' sink is a donor's.
    """
    principal.require_admin()
    with unit_of_work() as session:
        plot = plot_in(session, plot_id, lock=True)
        _require_project(session, credit_project_id)
        if credit_project_id is not None and held_trees(session, plot_id) > 0:
            raise Conflict(
                "This plot's trees are adopted: its sink is the adopters' and cannot be sold as credits.",
                errors={"credit_project_id": ["the plot has adoptions"]},
            )
        before = {"credit_project_id": plot.credit_project_id}
        plot.credit_project_id = credit_project_id
        audit.record(
            session,
            principal.user_id,
            "plot.enrol",
            "forest_plot",
            plot.id,
            before,
            {"credit_project_id": credit_project_id},
        )
    return plot


def plot_view(session: Session, plot: ForestPlot) -> dict[str, Any]:
    """A plot as anyone may read it: its forest, species, trees taken and free."""
    forest = plot.forest
    held = held_trees(session, plot.id)
    return {
        "id": plot.id,
        "forest_id": forest.id,
        "forest_code": forest.code,
        "forest_name": forest.name,
        "place": forest.place,
        "owner": forest.owner.name,
        "code": plot.code,
        "area_m2": plot.area_m2,
        "species": list(plot.species or []),
        "tree_capacity": plot.tree_capacity,
        "trees_held": held,
        "trees_free": 0 if plot.credit_project_id is not None else max(plot.tree_capacity - held, 0),
        "donation_fen_per_tree": plot.donation_fen_per_tree,
        "credit_project_id": plot.credit_project_id,
        "adoptable": plot.credit_project_id is None and held < plot.tree_capacity,
    }


def list_plots(forest_id: int, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """A forest's plots by code, with the trees each still has free."""
    session = read_session()
    _forest(session, forest_id)
    query = select(ForestPlot).where(ForestPlot.forest_id == forest_id).order_by(ForestPlot.code)
    plots, total = objects_page(session, query, page, page_size)
    return [plot_view(session, plot) for plot in plots], total


def get_plot(plot_id: int) -> dict[str, Any]:
    session = read_session()
    return plot_view(session, plot_in(session, plot_id))


MAX_OWNER_CHOICES = 500


def owner_choices() -> list[tuple[int, str]]:
    """(id, name) of the owners a forest may belong to, by name (the console's choice list)."""
    session = read_session()
    rows = session.execute(
        select(ProjectOwner.id, ProjectOwner.name).order_by(ProjectOwner.name).limit(MAX_OWNER_CHOICES)
    ).all()
    session.rollback()
    return [(row.id, row.name) for row in rows]
