"""Admin sales reports: grouped sums of paid orders, their grand totals, CSV and XLSX exports."""

from __future__ import annotations

from flask import Response

from api.admin_reports.schemas import (
    ExportQuerySchema,
    ReportFilterSchema,
    ReportQuerySchema,
    ReportRowSchema,
)
from api.auth import auth_required
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from services.reporting import sales_export, sales_reports

blp = Blueprint(
    "admin_reports", __name__, url_prefix="/api/v1/admin/reports", description="Admin: sales reports"
)


def _filters(query: dict) -> sales_reports.ReportFilters:
    return sales_reports.ReportFilters(**{k: v for k, v in query.items() if k not in ("group_by", "format")})


@blp.route("/sales", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(ReportQuerySchema(), location="query")
@blp.response(200, ReportRowSchema(many=True))
@blp.alt_response(422, schema=ErrorSchema, description="Unknown grouping or filter")
@blp.paginate()
def sales(query, pagination_parameters):
    """Sales grouped by period, product, kind, project, owner or channel."""
    rows, total = sales_reports.sales_report(
        _filters(query),
        query["group_by"],
        page=pagination_parameters.page,
        page_size=pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/sales/totals", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(ReportFilterSchema(), location="query")
@blp.response(200, ReportRowSchema)
@blp.alt_response(422, schema=ErrorSchema, description="Invalid filter")
def sales_totals(query):
    """Grand totals of the sales matching the filters."""
    return sales_reports.sales_totals(_filters(query))


@blp.route("/sales/export", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(ExportQuerySchema(), location="query")
@blp.response(200, content_type="text/csv", description="The report as CSV or XLSX")
@blp.alt_response(422, schema=ErrorSchema, description="Unknown grouping or filter, or too many rows")
def sales_export_file(query):
    """Download the whole report (every group) as CSV or XLSX."""
    rows = sales_reports.sales_rows(_filters(query), query["group_by"])
    body, content_type = sales_export.export(rows, query["group_by"], query["format"])
    name = f"sales-{'-'.join(query['group_by']) or 'total'}.{query['format']}"
    return Response(
        body, content_type=content_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
