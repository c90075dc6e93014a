"""The admin audit log, filtered and paginated."""

from __future__ import annotations

from api.audit_log.schemas import AuditEntrySchema, AuditQuerySchema
from api.auth import auth_required
from api.blueprint import Blueprint
from services.kernel import audit

blp = Blueprint("audit_log", __name__, url_prefix="/api/v1/admin", description="Who changed what, and when")


@blp.route("/audit-log")
@auth_required(admin=True)
@blp.arguments(AuditQuerySchema(), location="query")
@blp.response(200, AuditEntrySchema(many=True))
@blp.paginate()
def audit_log(filters, pagination_parameters):
    """Audit entries, newest first, filtered by actor, entity, action and time (admin)."""
    items, total = audit.list_entries(
        page=pagination_parameters.page, page_size=pagination_parameters.page_size, **filters
    )
    pagination_parameters.item_count = total
    return items
