"""Console pages of figures: the dashboard, the sales report, the owner payouts, and their exports."""

from __future__ import annotations

from flask import Response, render_template, request

from api.console import charts, query
from api.console.blueprint import bp, page_args
from api.console.session_auth import admin_required
from services.kernel.beijing_time import today
from services.kernel.errors import ValidationFailed
from services.registry import payouts
from services.reporting import dashboard as dashboard_service
from services.reporting import sales_export, sales_reports


@bp.route("/")
@admin_required
def dashboard() -> str:
    """Figures of the chosen period and the net sales per bucket as a bar chart."""
    period = request.args.get("period", "day")
    board = dashboard_service.dashboard(period, query.number("buckets"))
    return render_template(
        "console/dashboard.html", board=board, chart=charts.sales_by_day(board), period=period
    )


def _sales_filters() -> sales_reports.ReportFilters:
    return sales_reports.ReportFilters(
        since=query.day("since"),
        until=query.day("until"),
        kind=query.text("kind"),
        project_id=query.number("project_id"),
        owner_id=query.number("owner_id"),
        channel=query.text("channel"),
        product=query.text("product"),
    )


def _group_by() -> list[str]:
    return request.args.getlist("group_by") or ["day"]


@bp.route("/sales")
@admin_required
def sales() -> str:
    """Paid orders grouped by period and dimension, with the grand totals."""
    filters, group_by = _sales_filters(), _group_by()
    pages = page_args(50)
    rows, total = sales_reports.sales_report(filters, group_by, **pages)
    return render_template(
        "console/sales.html",
        rows=rows,
        total=total,
        totals=sales_reports.sales_totals(filters),
        group_by=group_by,
        dimensions=sales_reports.DIMENSIONS,
        products=sales_reports.PRODUCTS,
        columns=sales_export.columns_for(group_by),
        **pages,
    )


@bp.route("/sales/export.<fmt>")
@admin_required
def sales_export_file(fmt: str) -> Response:
    """The sales report, every group, as CSV or XLSX."""
    if fmt not in sales_export.CONTENT_TYPES:
        raise ValidationFailed("Export as csv or xlsx.", errors={"format": ["csv or xlsx"]})
    group_by = _group_by()
    rows = sales_reports.sales_rows(_sales_filters(), group_by)
    body, content_type = sales_export.export(rows, group_by, fmt)
    name = f"sales-by-{'-'.join(group_by)}.{fmt}"
    return Response(
        body, content_type=content_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _month() -> str:
    return query.text("month") or f"{today():%Y-%m}"


@bp.route("/payouts")
@admin_required
def payouts_page() -> str:
    """What each owner (and project) earned in a month, beside the month's net sales."""
    month, group = _month(), request.args.get("group", "project")
    pages = page_args(50)
    rows, total = payouts.list_payouts(group=group, month=month, **pages)
    return render_template(
        "console/payouts.html",
        rows=rows,
        total=total,
        summary=payouts.summary(month=month),
        month=month,
        group=group,
        yuan=payouts.yuan,
        **pages,
    )


@bp.route("/payouts/export.csv")
@admin_required
def payouts_export() -> Response:
    """A month's payouts as CSV."""
    name, text = payouts.export_csv(request.args.get("group", "project"), month=_month())
    return Response(
        text.encode("utf-8"),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
