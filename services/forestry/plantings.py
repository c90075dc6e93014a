"""What was planted on a plot and how much of it survived, as the operator records it.

Shuozhou's reply names species, area and survival rate (造林树种、面积及成活率) as what planting is
judged by; a planting records the first two, its survival checks the third (surviving / planted).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Planting, SurvivalCheck
from models.database import read_session, unit_of_work
from services.accounts.tokens import Principal
from services.forestry.forests import plot_in
from services.kernel import audit, beijing_time
from services.kernel.errors import Conflict, NotFound, ValidationFailed
from services.kernel.paging import objects_page


def record_planting(principal: Principal, plot_id: int, values: dict[str, Any]) -> Planting:
    """Record trees of one of the plot's species planted on a day (admin)."""
    principal.require_admin()
    with unit_of_work() as session:
        plot = plot_in(session, plot_id)
        species = values["species"].strip()
        if species not in (plot.species or []):
            raise ValidationFailed(
                f"{species} is not a species of plot {plot.code}.",
                errors={"species": [f"one of {', '.join(plot.species or [])}"]},
            )
        if values["area_m2"] > plot.area_m2:
            raise ValidationFailed(
                f"The planting is larger than the plot ({plot.area_m2} m²).",
                errors={"area_m2": [f"at most {plot.area_m2}"]},
            )
        if values["planted_on"] > beijing_time.today():
            raise ValidationFailed(
                "A planting is recorded once done.", errors={"planted_on": ["in the future"]}
            )
        planting = Planting(
            plot_id=plot.id,
            species=species,
            trees=values["trees"],
            area_m2=values["area_m2"],
            planted_on=values["planted_on"],
            recorded_by=principal.user_id,
        )
        session.add(planting)
        session.flush()
        audit.record(
            session,
            principal.user_id,
            "planting.record",
            "forest_planting",
            planting.id,
            None,
            {**values, "planted_on": values["planted_on"].isoformat(), "plot_id": plot.id},
        )
    return planting


def record_survival(principal: Principal, planting_id: int, values: dict[str, Any]) -> SurvivalCheck:
    """Record how many trees of a planting were alive on a day (admin); one check per day."""
    principal.require_admin()
    with unit_of_work() as session:
        planting = session.get(Planting, planting_id)
        if planting is None:
            raise NotFound(f"Planting {planting_id} does not exist.")
        if values["surviving"] > planting.trees:
            raise ValidationFailed(
                f"More trees alive than the {planting.trees} planted.",
                errors={"surviving": [f"at most {planting.trees}"]},
            )
        checked_on = values["checked_on"]
        if not planting.planted_on <= checked_on <= beijing_time.today():
            raise ValidationFailed(
                "A check falls between the planting day and today.",
                errors={"checked_on": [f"from {planting.planted_on.isoformat()} to today"]},
            )
        if session.scalar(
            select(SurvivalCheck.id).where(
                SurvivalCheck.planting_id == planting_id, SurvivalCheck.checked_on == checked_on
            )
        ):
            raise Conflict(f"This planting was checked on {checked_on.isoformat()} already.")
        check = SurvivalCheck(
            planting_id=planting_id,
            checked_on=checked_on,
            surviving=values["surviving"],
            notes=values.get("notes", ""),
            recorded_by=principal.user_id,
        )
        session.add(check)
        session.flush()
        audit.record(
            session,
            principal.user_id,
            "planting.survival",
            "forest_planting",
            planting_id,
            None,
            {"checked_on": checked_on.isoformat(), "surviving": values["surviving"]},
        )
    return check


def survival_rate(surviving: int, planted: int) -> str:
    """Surviving / planted as a percentage with one decimal, rounded half-up (e.g. "92.5")."""
    rate = Decimal(surviving * 100) / Decimal(planted)
    return str(rate.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


MAX_SHOWN = 100  # plantings shown with a plot or an adoption; the paginated list has them all


def _rows(session: Session, plantings: list[Planting]) -> list[dict[str, Any]]:
    checks: dict[int, list[SurvivalCheck]] = {}
    if plantings:
        for check in session.scalars(
            select(SurvivalCheck)
            .where(SurvivalCheck.planting_id.in_([p.id for p in plantings]))
            .order_by(SurvivalCheck.checked_on)
        ):
            checks.setdefault(check.planting_id, []).append(check)
    rows = []
    for planting in plantings:
        mine = checks.get(planting.id, [])
        latest = mine[-1] if mine else None
        rows.append(
            {
                "id": planting.id,
                "species": planting.species,
                "trees": planting.trees,
                "area_m2": planting.area_m2,
                "planted_on": planting.planted_on,
                "surviving": latest.surviving if latest else None,
                "survival_rate": survival_rate(latest.surviving, planting.trees) if latest else None,
                "last_checked_on": latest.checked_on if latest else None,
                "checks": [
                    {"checked_on": c.checked_on, "surviving": c.surviving, "notes": c.notes} for c in mine
                ],
            }
        )
    return rows


def _of_plot(plot_id: int):
    return select(Planting).where(Planting.plot_id == plot_id).order_by(Planting.planted_on, Planting.id)


def plantings_in(session: Session, plot_id: int) -> list[dict[str, Any]]:
    """The plot's plantings (the first MAX_SHOWN), oldest first, each with its checks and latest
    survival rate."""
    return _rows(session, list(session.scalars(_of_plot(plot_id).limit(MAX_SHOWN)).all()))


def list_plantings(plot_id: int, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """One page of a plot's plantings with their survival."""
    session = read_session()
    plot_in(session, plot_id)
    plantings, total = objects_page(session, _of_plot(plot_id), page, page_size)
    return _rows(session, plantings), total


def list_checks(planting_id: int, page: int, page_size: int) -> tuple[list[SurvivalCheck], int]:
    session = read_session()
    if session.get(Planting, planting_id) is None:
        raise NotFound(f"Planting {planting_id} does not exist.")
    query = select(SurvivalCheck).where(SurvivalCheck.planting_id == planting_id)
    return objects_page(session, query.order_by(SurvivalCheck.checked_on.desc()), page, page_size)
