"""Admin endpoints for the pool's batches: import a file of issuances, list batches with their grams."""

from __future__ import annotations

from api.auth import auth_required, current_principal
from api.batches.schemas import (
    AdminBatchSchema,
    BatchFilterSchema,
    ImportFileSchema,
    ImportQuerySchema,
    ImportSummarySchema,
)
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from services.pool import batch_import, batches

blp = Blueprint(
    "batches_admin",
    __name__,
    url_prefix="/api/v1/admin/batches",
    description="Admin: import issued batches into the pool and watch their grams",
)


@blp.route("/import", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(ImportQuerySchema(), location="query")
@blp.arguments(ImportFileSchema(), location="files")
@blp.response(201, ImportSummarySchema)
@blp.alt_response(
    422, schema=ErrorSchema, description="The file has faults; `errors` lists each with its row and field"
)
@blp.alt_response(409, schema=ErrorSchema, description="A concurrent import took the same serials")
def import_batches(query, files):
    """Import a CSV or JSON file of batches: all rows, or none when any is bad."""
    upload = files["file"]
    fmt = query.get("format") or batch_import.detect_format(upload.filename, upload.mimetype) or ""
    return batch_import.import_batches(
        upload.read(), fmt, actor_id=current_principal().user_id, source=upload.filename or ""
    )


@blp.route("", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(BatchFilterSchema(), location="query")
@blp.response(200, AdminBatchSchema(many=True))
@blp.paginate()
def list_batches(filters, pagination_parameters):
    """List batches with their issued, available, reserved, sold and retired grams."""
    items, total = batches.list_batches(
        page=pagination_parameters.page, page_size=pagination_parameters.page_size, **filters
    )
    pagination_parameters.item_count = total
    return items
