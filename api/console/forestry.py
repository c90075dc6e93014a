"""Console pages of forestry: memorial forests and their plots, a plot with its plantings, survival
checks and adoptions, the list of adoptions, and land-use compensations (list and detail).

Form values are bounded here as the API's schemas bound them (`api.forestry.schemas`); every rule
about forests, plots, plantings and adoptions is the service's (`services.forestry`)."""

from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api.console import query
from api.console.blueprint import bp, page_args
from api.console.session_auth import admin_required, principal
from api.forestry.schemas import MAX_AREA_M2, MAX_FEN_PER_TREE, MAX_TREES
from models import AdoptionStatus
from models.database import read_session
from services.forestry import adoptions, forests, land_compensation, plantings
from services.kernel.errors import DomainError, ValidationFailed
from services.kernel.whole_numbers import parse_whole

MAX_ID = 2**63 - 1
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
MAX_LENGTHS = {
    "name": 100,
    "place": 200,
    "description": 2000,
    "species": 64,
    "notes": 500,
    "permit_number": 64,
}


def _text(name: str, required: bool = True) -> str:
    value = request.form.get(name, "").strip()
    if required and not value:
        raise ValidationFailed(f"{name}: required.", errors={name: ["required"]})
    if len(value) > MAX_LENGTHS.get(name, 200):
        raise ValidationFailed(
            f"{name}: at most {MAX_LENGTHS[name]} characters.", errors={name: ["too long"]}
        )
    if _controls(value):
        raise ValidationFailed(f"{name}: no control characters.", errors={name: ["not text"]})
    return value


def _controls(value: str) -> bool:
    """Whether `value` has a control character other than a line break or tab (as the API refuses)."""
    return any((ord(char) < 32 and char not in "\t\n\r") or ord(char) == 127 for char in value)


def _code() -> str:
    value = request.form.get("code", "").strip()
    if not CODE.fullmatch(value):
        raise ValidationFailed("code: letters, digits, - and _, at most 32.", errors={"code": ["bad code"]})
    return value


def _whole(name: str, low: int, high: int, required: bool = True) -> int | None:
    text = request.form.get(name, "").strip()
    if not text and not required:
        return None
    number = parse_whole(text)
    if number is None or not low <= number <= high:
        raise ValidationFailed(
            f"{name}: write a whole number from {low} to {high:,}.", errors={name: [f"{low} to {high}"]}
        )
    return number


def _day(name: str):
    value = query.day(name, "form")
    if value is None:
        raise ValidationFailed(f"{name}: give the date.", errors={name: ["required"]})
    return value


def _species() -> list[str]:
    names = [
        part.strip() for part in re.split(r"[,，、\s]+", request.form.get("species", "")) if part.strip()
    ]
    if any(len(name) > MAX_LENGTHS["species"] for name in names):
        raise ValidationFailed("species: a name is at most 64 characters.", errors={"species": ["too long"]})
    if any(_controls(name) for name in names):
        raise ValidationFailed("species: no control characters.", errors={"species": ["not text"]})
    return names


@bp.route("/forests")
@admin_required
def forest_list() -> str:
    """Memorial forests, newest first, and the form to set one up."""
    pages = page_args()
    rows, total = forests.list_forests(**pages)
    return render_template(
        "console/forests.html", forests=rows, total=total, owners=forests.owner_choices(), **pages
    )


@bp.route("/forests", methods=["POST"])
@admin_required
def forest_create() -> Response:
    """Set up a memorial forest (as `POST /admin/forests`)."""
    try:
        forest = forests.create_forest(
            principal(),
            {
                "code": _code(),
                "name": _text("name"),
                "place": _text("place"),
                "owner_id": _whole("owner_id", 1, MAX_ID),
                "description": _text("description", required=False),
            },
        )
    except DomainError as error:
        flash(f"No forest set up: {error.message}", "error")
        return redirect(url_for("console.forest_list"))
    flash(f"Memorial forest {forest.code} set up.")
    return redirect(url_for("console.forest_detail", forest_id=forest.id))


@bp.route("/forests/<int:forest_id>")
@admin_required
def forest_detail(forest_id: int) -> str:
    """A forest, its plots with the trees each has free, and the form to add a plot."""
    pages = page_args(50)
    forest = forests.get_forest(forest_id)
    plots, total = forests.list_plots(forest_id, **pages)
    return render_template("console/forest.html", forest=forest, plots=plots, total=total, **pages)


@bp.route("/forests/<int:forest_id>/plots", methods=["POST"])
@admin_required
def plot_create(forest_id: int) -> Response:
    """Add a plot to the forest (as `POST /admin/forests/<id>/plots`)."""
    try:
        plot = forests.create_plot(
            principal(),
            forest_id,
            {
                "code": _code(),
                "area_m2": _whole("area_m2", 1, MAX_AREA_M2),
                "species": _species(),
                "tree_capacity": _whole("tree_capacity", 1, MAX_TREES),
                "donation_fen_per_tree": _whole("donation_fen_per_tree", 1, MAX_FEN_PER_TREE),
                "credit_project_id": _whole("credit_project_id", 1, MAX_ID, required=False),
            },
        )
    except DomainError as error:
        flash(f"No plot added: {error.message}", "error")
        return redirect(url_for("console.forest_detail", forest_id=forest_id))
    flash(f"Plot {plot.code} added.")
    return redirect(url_for("console.plot_detail", plot_id=plot.id))


@bp.route("/plots/<int:plot_id>")
@admin_required
def plot_detail(plot_id: int) -> str:
    """A plot: its plantings with their survival, its adoptions, and the forms to record more."""
    pages = page_args(50)
    plot = forests.get_plot(plot_id)
    rows, total = adoptions.list_all(plot_id=plot_id, **pages)
    return render_template(
        "console/plot.html",
        plot=plot,
        plantings=plantings.plantings_in(read_session(), plot_id),
        adoptions=rows,
        total=total,
        **pages,
    )


@bp.route("/plots/<int:plot_id>/<step>", methods=["POST"])
@admin_required
def plot_step(plot_id: int, step: str) -> Response:
    """Record a planting, a survival check, or the plot's credit project; back to the plot."""
    try:
        if step == "planting":
            plantings.record_planting(
                principal(),
                plot_id,
                {
                    "species": _text("species"),
                    "trees": _whole("trees", 1, MAX_TREES),
                    "area_m2": _whole("area_m2", 1, MAX_AREA_M2),
                    "planted_on": _day("planted_on"),
                },
            )
            flash("Planting recorded.")
        elif step == "survival":
            planting_id = _whole("planting_id", 1, MAX_ID)
            plantings.record_survival(
                principal(),
                planting_id,
                {
                    "checked_on": _day("checked_on"),
                    "surviving": _whole("surviving", 0, MAX_TREES),
                    "notes": _text("notes", required=False),
                },
            )
            flash("Survival check recorded.")
        elif step == "credit-project":
            forests.enrol_plot(principal(), plot_id, _whole("credit_project_id", 1, MAX_ID, required=False))
            flash("Credit project of the plot saved.")
        else:
            raise ValidationFailed("Unknown step.", errors={"step": ["planting, survival or credit-project"]})
    except DomainError as error:
        flash(f"Not recorded: {error.message}", "error")
    return redirect(url_for("console.plot_detail", plot_id=plot_id))


@bp.route("/adoptions")
@admin_required
def adoption_list() -> str:
    """Every adoption, newest first, by status."""
    status = query.text("status")
    pages = page_args()
    rows, total = adoptions.list_all(status=status if status in set(AdoptionStatus) else None, **pages)
    return render_template(
        "console/adoptions.html", adoptions=rows, total=total, statuses=list(AdoptionStatus), **pages
    )


@bp.route("/land-compensations")
@admin_required
def compensation_list() -> str:
    """Land-use compensations, newest first, or those of one permit number."""
    pages = page_args()
    permit = (query.text("permit_number") or "")[: MAX_LENGTHS["permit_number"]] or None
    rows, total = land_compensation.list_all(permit_number=permit, **pages)
    return render_template("console/land_compensations.html", compensations=rows, total=total, **pages)


@bp.route("/land-compensations/<int:compensation_id>")
@admin_required
def compensation_detail(compensation_id: int) -> str:
    """A compensation: the permit, the area and factor, the fee and its two parts, the credits."""
    found = land_compensation.get_compensation(principal(), compensation_id)
    record = land_compensation.member_record(principal(), compensation_id)
    return render_template("console/land_compensation.html", c=found, record=record)
