"""Console pages of registry retirement: the list with the draft form and each one's next step, one
retirement with its tonnes and beneficiaries, its forms.

Form values are bounded here as the API's schemas bound them (`api.admin_retirement.schemas`); every
rule about what may be retired and when is the service's (`services.registry.retirement`)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api.console import query
from api.console.blueprint import bp, page_args
from api.console.session_auth import admin_required, principal
from models import RetirementStatus
from services.kernel.errors import DomainError, ValidationFailed
from services.kernel.whole_numbers import parse_whole
from services.registry import retirement as retirements
from services.sales import catalogue

MAX_ID = 2**31 - 1
MAX_BATCHES = 1000
# The API's bounds of the same fields (api.admin_retirement.schemas).
MAX_LENGTHS = {
    "kind": 32,
    "note": 2000,
    "submission_ref": 200,
    "registry_ref": 200,
    "registry_url": 512,
    "reason": 255,
}


def _field(name: str, required: str | None = None) -> str:
    """A trimmed form value within the API's length; `required` is the message when it is missing."""
    value = request.form.get(name, "").strip()
    if required and not value:
        raise ValidationFailed(required, errors={name: ["required"]})
    if len(value) > MAX_LENGTHS[name]:
        raise ValidationFailed(
            f"{name}: at most {MAX_LENGTHS[name]} characters.", errors={name: ["too long"]}
        )
    return value


def _whole(name: str, value: str, low: int, high: int) -> int:
    number = parse_whole(value)
    if number is None or not low <= number <= high:
        raise ValidationFailed(
            f"{name}: write a whole number from {low} to {high:,}.", errors={name: [f"{low} to {high}"]}
        )
    return number


def _batch_ids(text: str) -> list[int] | None:
    """Batch ids separated by commas or spaces; None when none is given."""
    parts = text.replace(",", " ").split()
    if len(parts) > MAX_BATCHES:
        raise ValidationFailed(
            f"batch_ids: at most {MAX_BATCHES} batches.", errors={"batch_ids": ["too many"]}
        )
    return [_whole("batch_ids", part, 1, MAX_ID) for part in parts] or None


def _retirable_by_kind() -> list[dict[str, object]]:
    """Each credit kind with how many of its tonnes are fully sold and in no retirement yet."""
    kinds = []
    for kind in catalogue.list_kinds():
        _rows, waiting = retirements.list_retirable(page=1, page_size=1, kind_code=kind["code"])
        kinds.append({"code": kind["code"], "name": kind["name"], "retirable": waiting})
    return kinds


@bp.route("/retirements")
@admin_required
def retirement_list() -> str:
    """Retirements, newest first, by status or credit kind; the draft form and each one's next step."""
    status = query.text("status")
    pages = page_args()
    rows, total = retirements.list_retirements(
        status=status if status in set(RetirementStatus) else None, kind=query.text("kind"), **pages
    )
    return render_template(
        "console/retirements.html",
        retirements=rows,
        total=total,
        statuses=list(RetirementStatus),
        kinds=_retirable_by_kind(),
        max_tonnes=retirements.MAX_TONNES_PER_RETIREMENT,
        **pages,
    )


@bp.route("/retirements", methods=["POST"])
@admin_required
def retirement_draft() -> Response:
    """Draft a retirement of the retirable tonnes of one credit kind (as `POST /admin/retirements`)."""
    form = request.form
    try:
        kind = _field("kind", required="Choose the credit kind to retire.")
        project = form.get("project_id", "").strip()
        most = form.get("max_tonnes", "").strip()
        drafted = retirements.create_draft(
            principal().user_id,
            kind_code=kind,
            project_id=_whole("project_id", project, 1, MAX_ID) if project else None,
            batch_ids=_batch_ids(form.get("batch_ids", "")),
            max_tonnes=_whole("max_tonnes", most, 1, retirements.MAX_TONNES_PER_RETIREMENT) if most else None,
            note=_field("note"),
        )
    except DomainError as error:
        flash(f"No retirement drafted: {error.message}", "error")
    else:
        flash(f"Retirement {drafted['id']} drafted: {drafted['tonnes']} t {drafted['kind']}.")
    return redirect(url_for("console.retirement_list"))


@bp.route("/retirements/<int:retirement_id>")
@admin_required
def retirement_detail(retirement_id: int) -> str:
    """A retirement: its serial ranges, its beneficiaries, and the forms of its next steps."""
    pages = page_args(50)
    found = retirements.get_retirement(retirement_id)
    beneficiaries, total = retirements.list_beneficiaries(retirement_id, **pages)
    return render_template(
        "console/retirement.html", retirement=found, beneficiaries=beneficiaries, total=total, **pages
    )


@bp.route("/retirements/<int:retirement_id>/<step>", methods=["POST"])
@admin_required
def retirement_step(retirement_id: int, step: str) -> Response:
    """Submit, confirm (with the registry's reference) or cancel a retirement; then go back to the
    retirement, or to the list when the form came from there (`back=list`)."""
    actor = principal().user_id
    try:
        if step == "submit":
            retirements.submit(actor, retirement_id, _field("submission_ref"))
        elif step == "confirm":
            registry_ref = _field("registry_ref", required="Give the registry's reference.")
            registry_url = _field("registry_url")
            retired_on = query.day("retired_on", "form")
            if retired_on is None:
                raise ValidationFailed("Give the retirement date.", errors={"retired_on": ["required"]})
            retirements.confirm(
                actor,
                retirement_id,
                registry_ref=registry_ref,
                retired_on=retired_on,
                registry_url=registry_url,
            )
        elif step == "cancel":
            retirements.cancel(actor, retirement_id, _field("reason", required="Say why it is cancelled."))
        else:
            raise ValidationFailed("Unknown step.", errors={"step": ["submit, confirm or cancel"]})
    except DomainError as error:
        flash(f"Retirement {retirement_id} unchanged: {error.message}", "error")
    else:
        flash(f"Retirement {retirement_id}: {step} done.")
    if request.form.get("back") == "list":
        return redirect(url_for("console.retirement_list") + f"#retirement-{retirement_id}")
    return redirect(url_for("console.retirement_detail", retirement_id=retirement_id))


@bp.route("/retirements/<int:retirement_id>/tonnes.csv")
@admin_required
def retirement_csv(retirement_id: int) -> Response:
    """The tonne list to file at the registry."""
    name, text = retirements.export_tonnes_csv(retirement_id)
    return Response(
        text.encode("utf-8"),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
