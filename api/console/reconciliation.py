"""Console pages of reconciliation: the runs, a run's discrepancies, and the forms that resolve them."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api.console import query
from api.console.blueprint import bp, page_args
from api.console.session_auth import admin_required, principal
from api.context import order_policy, payment_provider
from models import DiscrepancyKind, RunStatus
from services.kernel.errors import DomainError
from services.reconciliation import reconciliation, reconciliation_resolve

RESOLVED_CHOICES = {"yes": True, "no": False}


@bp.route("/reconciliation")
@admin_required
def runs() -> str:
    """Reconciliation runs, newest first, by bill date or status."""
    status = query.text("status")
    pages = page_args()
    rows, total = reconciliation.list_runs(
        bill_date=query.day("date"), status=status if status in set(RunStatus) else None, **pages
    )
    return render_template("console/runs.html", runs=rows, total=total, statuses=list(RunStatus), **pages)


@bp.route("/reconciliation/<int:run_id>")
@admin_required
def run(run_id: int) -> str:
    """A run's totals and its discrepancies, each with the forms that resolve it."""
    kind = query.text("kind")
    resolved = RESOLVED_CHOICES.get(request.args.get("resolved", ""))
    pages = page_args(50)
    found, total = reconciliation.list_discrepancies(
        run_id, kind=kind if kind in set(DiscrepancyKind) else None, resolved=resolved, **pages
    )
    return render_template(
        "console/run.html",
        run=reconciliation.get_run(run_id),
        discrepancies=found,
        total=total,
        kinds=list(DiscrepancyKind),
        **pages,
    )


@bp.route("/discrepancies/<int:discrepancy_id>/resolve", methods=["POST"])
@admin_required
def resolve(discrepancy_id: int) -> Response:
    """Fulfil, refund or explain a discrepancy, then go back to its run."""
    found = reconciliation_resolve.get_discrepancy(discrepancy_id)
    back = url_for("console.run", run_id=found.run_id) + f"#discrepancy-{discrepancy_id}"
    try:
        resolved = reconciliation_resolve.resolve_discrepancy(
            principal(),
            discrepancy_id,
            request.form.get("action", ""),
            request.form.get("note", ""),
            order_policy(),
            payment_provider(),
            query.number("grams", "form"),
        )
    except DomainError as error:
        flash(f"Discrepancy {discrepancy_id} not resolved: {error.message}", "error")
        return redirect(back)
    flash(f"Discrepancy {discrepancy_id} resolved: {resolved.resolution.value}.")
    return redirect(back)
