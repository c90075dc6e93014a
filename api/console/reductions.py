"""Console pages of reduction batches: the list with a month's eligible actions and the build form;
one batch with its pool figures, proceeds and contributors, and the forms of its next step.

Form values are bounded here as the API's schemas bound them (`api.reductions.schemas`); every rule
about what may be batched, submitted or issued is the service's (`services.reductions`)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api.console import query
from api.console.blueprint import bp, page_args
from api.console.session_auth import admin_required, principal
from api.reductions.schemas import MAX_ISSUED_G, MAX_PRICE_FEN_PER_T, MAX_SERIAL_START
from models import GRAMS_PER_TONNE, ReductionBatchStatus
from services.kernel.errors import DomainError, ValidationFailed
from services.kernel.whole_numbers import parse_whole
from services.reductions import batch_building, issuance, reduction_batches
from services.reductions.reduction_policy import current

MAX_LENGTHS = {
    "month": 7,
    "methodology": batch_building.METHODOLOGY_MAX,
    "note": batch_building.NOTE_MAX,
    "application_ref": 200,
    "registry_ref": 200,
    "registry_url": 512,
    "registry_name": 200,
    "serial_prefix": 64,
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


def _whole(name: str, low: int, high: int, required: bool = True) -> int | None:
    text = request.form.get(name, "").strip()
    if not text and not required:
        return None
    number = parse_whole(text)
    if number is None or not low <= number <= high:
        raise ValidationFailed(
            f"{name}: write a whole number from {low:,} to {high:,}.", errors={name: [f"{low} to {high}"]}
        )
    return number


def _said(error: DomainError) -> str:
    """The error's message with what it says of each field."""
    details = error.errors
    if isinstance(details, dict):
        parts = [f"{name}: {' '.join(map(str, said))}" for name, said in details.items()]
    elif isinstance(details, list):
        parts = [f"{item.get('field')}: {item.get('message')}" for item in details if isinstance(item, dict)]
    else:
        parts = []
    return " ".join([error.message, *parts])


@bp.route("/reductions")
@admin_required
def reduction_list() -> str:
    """Reduction batches, newest first; a month's actions by methodology and the build form."""
    pages = page_args()
    status = query.text("status")
    month_text = query.text("month")
    month = batch_building.parse_month(month_text) if month_text else None
    rows, total = reduction_batches.list_batches(
        status=ReductionBatchStatus(status) if status in set(ReductionBatchStatus) else None,
        month=month,
        **pages,
    )
    return render_template(
        "console/reductions.html",
        batches=rows,
        total=total,
        statuses=list(ReductionBatchStatus),
        month=month,
        summary=batch_building.month_summary(month) if month else None,
        opens_on=batch_building.closes_on(month, current()) if month else None,
        **pages,
    )


@bp.route("/reductions", methods=["POST"])
@admin_required
def reduction_build() -> Response:
    """Batch a closed month's eligible actions (as `POST /admin/reduction-batches`)."""
    try:
        month = batch_building.parse_month(_field("month", required="Choose the month to batch."))
        methodology = _field("methodology") or None
        made = batch_building.build_batches(principal().user_id, month, methodology, note=_field("note"))
    except DomainError as error:
        flash(f"No batch made: {_said(error)}", "error")
        return redirect(url_for("console.reduction_list"))
    names = ", ".join(f"#{batch['id']} {batch['methodology']} ({batch['grams']:,} g)" for batch in made)
    flash(f"Made {len(made)} draft batch{'' if len(made) == 1 else 'es'}: {names}.")
    return redirect(url_for("console.reduction_list", month=f"{month:%Y-%m}"))


@bp.route("/reductions/<int:batch_id>")
@admin_required
def reduction_detail(batch_id: int) -> str:
    """A batch: its figures, its pool batch and proceeds, its contributors, the forms of its next step."""
    pages = page_args(50)
    batch = reduction_batches.get_batch(batch_id)
    contributors, total = reduction_batches.list_contributors(batch_id, **pages)
    return render_template(
        "console/reduction.html",
        batch=batch,
        contributors=contributors,
        total=total,
        tonne=GRAMS_PER_TONNE,
        **pages,
    )


def _issuance() -> issuance.Issuance:
    tonnes = _whole("issued_t", 1, MAX_ISSUED_G // GRAMS_PER_TONNE)
    issued_on = query.day("issued_on", "form")
    if issued_on is None:
        raise ValidationFailed("Give the issue date.", errors={"issued_on": ["required"]})
    return issuance.Issuance(
        issued_g=(tonnes or 0) * GRAMS_PER_TONNE,
        registry_ref=_field("registry_ref", required="Give the registry's reference."),
        serial_prefix=_field("serial_prefix", required="Give the serial prefix."),
        serial_start=_whole("serial_start", 0, MAX_SERIAL_START) or 0,
        serial_digits=_whole("serial_digits", 1, 18, required=False),
        issued_on=issued_on,
        price_fen_per_t=_whole("price_fen_per_t", 1, MAX_PRICE_FEN_PER_T) or 0,
        registry_url=_field("registry_url"),
        registry_name=_field("registry_name"),
    )


@bp.route("/reductions/<int:batch_id>/<step>", methods=["POST"])
@admin_required
def reduction_step(batch_id: int, step: str) -> Response:
    """Submit, issue (the registry's record; the batch enters the pool) or reject a batch."""
    actor = principal().user_id
    try:
        if step == "submit":
            issuance.submit(
                actor, batch_id, _field("application_ref", required="Give the application reference.")
            )
        elif step == "issue":
            issuance.issue(actor, batch_id, _issuance())
        elif step == "reject":
            issuance.reject(actor, batch_id, _field("reason", required="Say why the registry refused it."))
        else:
            raise ValidationFailed("Unknown step.", errors={"step": ["submit, issue or reject"]})
    except DomainError as error:
        flash(f"Batch {batch_id} unchanged: {_said(error)}", "error")
    else:
        flash(f"Batch {batch_id}: {step} done.")
    return redirect(url_for("console.reduction_detail", batch_id=batch_id))
