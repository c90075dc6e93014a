"""Console pages of registry retirement: the batches, one with its tonnes and beneficiaries, its forms."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api.console import query
from api.console.blueprint import bp, page_args
from api.console.session_auth import admin_required, principal
from models import RetirementStatus
from services.kernel.errors import DomainError, ValidationFailed
from services.registry import retirement as retirements


@bp.route("/retirements")
@admin_required
def retirement_list() -> str:
    """Retirements, newest first, by status or credit kind."""
    status = query.text("status")
    pages = page_args()
    rows, total = retirements.list_retirements(
        status=status if status in set(RetirementStatus) else None, kind=query.text("kind"), **pages
    )
    return render_template(
        "console/retirements.html", retirements=rows, total=total, statuses=list(RetirementStatus), **pages
    )


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
    """Submit, confirm (with the registry's reference) or cancel a retirement."""
    actor = principal().user_id
    form = request.form
    try:
        if step == "submit":
            retirements.submit(actor, retirement_id, form.get("submission_ref", "").strip())
        elif step == "confirm":
            retired_on = query.day("retired_on", "form")
            if retired_on is None:
                raise ValidationFailed("Give the retirement date.", errors={"retired_on": ["required"]})
            retirements.confirm(
                actor,
                retirement_id,
                registry_ref=form.get("registry_ref", ""),
                retired_on=retired_on,
                registry_url=form.get("registry_url", "").strip(),
            )
        elif step == "cancel":
            reason = form.get("reason", "").strip()
            if not reason:
                raise ValidationFailed("Say why it is cancelled.", errors={"reason": ["required"]})
            retirements.cancel(actor, retirement_id, reason)
        else:
            raise ValidationFailed("Unknown step.", errors={"step": ["submit, confirm or cancel"]})
    except DomainError as error:
        flash(f"Retirement {retirement_id} unchanged: {error.message}", "error")
    else:
        flash(f"Retirement {retirement_id}: {step} done.")
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
