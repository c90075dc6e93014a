"""The admin dashboard endpoint."""

from __future__ import annotations

from api.admin_dashboard.schemas import DashboardQuerySchema, DashboardSchema
from api.auth import auth_required
from api.blueprint import Blueprint
from services.reporting import dashboard

blp = Blueprint(
    "admin_dashboard", __name__, url_prefix="/api/v1/admin/dashboard", description="Admin: dashboard"
)


@blp.route("", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(DashboardQuerySchema(), location="query")
@blp.response(200, DashboardSchema)
def show(query):
    """Sales, refunds, retirements, users, orders, points and money per day, week or month."""
    return dashboard.dashboard(query["period"], query.get("buckets"), query.get("until"))
