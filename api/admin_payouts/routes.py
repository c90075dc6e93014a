"""Admin endpoints of owner payouts: by owner and project per period, the net sales, a CSV export."""

from __future__ import annotations

from flask import Response

from api.admin_payouts.schemas import NetSalesSchema, PayoutQuerySchema, PayoutRowSchema, PeriodQuerySchema
from api.auth import auth_required
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from services.registry import payouts

blp = Blueprint(
    "admin_payouts",
    __name__,
    url_prefix="/api/v1/admin/payouts",
    description="Admin: what each project owner earned in a period, after refunds",
)


@blp.route("", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(PayoutQuerySchema(), location="query")
@blp.response(200, PayoutRowSchema(many=True))
@blp.alt_response(422, schema=ErrorSchema, description="No period, or a bad one")
@blp.paginate()
def list_payouts(query, pagination_parameters):
    """List a period's payouts by owner and project (or by owner)."""
    rows, total = payouts.list_payouts(
        page=pagination_parameters.page, page_size=pagination_parameters.page_size, **query
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/summary", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(PeriodQuerySchema(), location="query")
@blp.response(200, NetSalesSchema)
@blp.alt_response(422, schema=ErrorSchema, description="No period, or a bad one")
def summary(query):
    """A period's net sales from orders and refunds, beside the sum of its payouts."""
    return payouts.summary(**query)


@blp.route("/export", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(PayoutQuerySchema(), location="query")
@blp.response(200, content_type="text/csv", description="The period's payouts as CSV")
@blp.alt_response(422, schema=ErrorSchema, description="No period, or a bad one")
def export(query):
    """Download a period's payouts as CSV."""
    name, text = payouts.export_csv(**query)
    return Response(
        text,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
