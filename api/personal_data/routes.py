"""Account deletion (账号注销) with its cooling-off period, the export of all my data, and the admins' side."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, stream_with_context

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.limits import limiter, per_caller
from api.personal_data.schemas import (
    AdminDeletionSchema,
    DataExportSchema,
    DeletionFilterSchema,
    DeletionRequestSchema,
    DeletionRunSchema,
    DeletionSchema,
)
from services.accounts import account_deletion
from services.personal_data import data_export, erasure

blp = Blueprint(
    "personal_data", __name__, url_prefix="/api/v1", description="Account deletion and personal-data export"
)


@blp.route("/me/deletion", methods=["POST"])
@auth_required()
@blp.arguments(DeletionRequestSchema())
@blp.response(202, DeletionSchema)
@blp.alt_response(403, schema=ErrorSchema, description="An admin account is not deleted this way")
@blp.alt_response(422, schema=ErrorSchema, description="`confirm` is missing or not true")
def request_deletion(_body: dict[str, Any]):
    """Ask for my account to be deleted after the cooling-off period; asking again answers the pending request."""
    return account_deletion.request_deletion(
        current_principal().user_id, current_app.config["ACCOUNT_DELETION_COOLING_OFF_DAYS"]
    )


@blp.route("/me/deletion", methods=["GET"])
@auth_required()
@blp.response(200, DeletionSchema)
@blp.alt_response(404, schema=ErrorSchema, description="I never asked for a deletion")
def deletion_state():
    """My latest deletion request: pending (until when), cancelled or carried out."""
    return account_deletion.latest_request(current_principal().user_id)


@blp.route("/me/deletion", methods=["DELETE"])
@auth_required()
@blp.response(200, DeletionSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No deletion of my account is pending")
def cancel_deletion():
    """Cancel the pending deletion of my account."""
    return account_deletion.cancel_deletion(current_principal().user_id)


@blp.route("/me/export", methods=["GET"])
@limiter.limit(lambda: current_app.config["DATA_EXPORT_RATE_LIMIT"], key_func=per_caller)
@auth_required()
@blp.response(200, DataExportSchema, description="Everything held about me, as one JSON document (streamed)")
@blp.alt_response(429, schema=ErrorSchema, description="Too many exports; see Retry-After")
def export_mine():
    """Download everything the service holds about me (profile, consents, orders, certificates, points, ...)."""
    chunks = data_export.export(current_principal().user_id)
    return Response(
        stream_with_context(chunks),
        content_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="personal-data.json"',
            "Cache-Control": "no-store",
        },
    )


@blp.route("/admin/account-deletions", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(DeletionFilterSchema(), location="query")
@blp.response(200, AdminDeletionSchema(many=True))
@blp.paginate()
def list_deletions(filters: dict[str, Any], pagination_parameters):
    """List deletion requests, newest first (filter `status`)."""
    rows, total = account_deletion.list_requests(
        filters.get("status"), page=pagination_parameters.page, page_size=pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/admin/account-deletions/run", methods=["POST"])
@auth_required(admin=True)
@blp.response(200, DeletionRunSchema)
def run_deletions():
    """Carry out now every deletion whose cooling-off period is over (the job does it hourly)."""
    return erasure.carry_out_due(
        current_app.config["ORDER_SYNC_ENDED_DAYS"], actor_id=current_principal().user_id
    )
