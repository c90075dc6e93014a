"""Admin reconciliation: runs against WeChat Pay's trade bill, their discrepancies, resolutions."""

from __future__ import annotations

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.context import order_policy, payment_provider
from api.errors import ErrorSchema
from api.reconciliation.schemas import (
    DiscrepancyQuerySchema,
    DiscrepancySchema,
    ResolveSchema,
    RunCreateSchema,
    RunQuerySchema,
    RunSchema,
    UploadFileSchema,
    UploadFormSchema,
)
from services.reconciliation import reconciliation, reconciliation_resolve

blp = Blueprint(
    "reconciliation",
    __name__,
    url_prefix="/api/v1/admin/reconciliation",
    description="Admin: reconcile orders and refunds against WeChat Pay's trade bills",
)


@blp.route("/runs", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(RunCreateSchema())
@blp.response(201, RunSchema)
@blp.alt_response(409, schema=ErrorSchema, description="WeChat Pay refused the bill (e.g. not ready yet)")
@blp.alt_response(422, schema=ErrorSchema, description="The bill cannot be read; the error names the line")
@blp.alt_response(503, schema=ErrorSchema, description="WeChat Pay unreachable, or the bill fails its digest")
def start_run(data):
    """Download a day's trade bill through the payment provider and reconcile it."""
    return reconciliation.run_for_date(current_principal().user_id, data["date"], payment_provider())


@blp.route("/runs/upload", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(UploadFormSchema(), location="form")
@blp.arguments(UploadFileSchema(), location="files")
@blp.response(201, RunSchema)
@blp.alt_response(422, schema=ErrorSchema, description="The bill cannot be read; the error names the line")
def upload_run(form, files):
    """Reconcile a trade bill file downloaded from the merchant platform."""
    upload = files["file"]
    return reconciliation.run_for_file(
        current_principal().user_id,
        upload.stream,
        provider_name=payment_provider().name,
        filename=upload.filename or "",
        bill_date=form.get("date"),
    )


@blp.route("/runs", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(RunQuerySchema(), location="query")
@blp.response(200, RunSchema(many=True))
@blp.paginate()
def list_runs(query, pagination_parameters):
    """List reconciliation runs, newest first."""
    rows, total = reconciliation.list_runs(
        page=pagination_parameters.page,
        page_size=pagination_parameters.page_size,
        bill_date=query.get("date"),
        status=query.get("status"),
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/runs/<int:run_id>", methods=["GET"])
@auth_required(admin=True)
@blp.response(200, RunSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such run")
def get_run(run_id):
    """Read a run: its status, progress and totals."""
    return reconciliation.get_run(run_id)


@blp.route("/runs/<int:run_id>/discrepancies", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(DiscrepancyQuerySchema(), location="query")
@blp.response(200, DiscrepancySchema(many=True))
@blp.alt_response(404, schema=ErrorSchema, description="No such run")
@blp.paginate()
def list_discrepancies(query, run_id, pagination_parameters):
    """List a run's discrepancies in bill order, filtered by kind or resolution."""
    rows, total = reconciliation.list_discrepancies(
        run_id, page=pagination_parameters.page, page_size=pagination_parameters.page_size, **query
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/discrepancies/<int:discrepancy_id>/resolve", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(ResolveSchema())
@blp.response(200, DiscrepancySchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such discrepancy, or no such order")
@blp.alt_response(409, schema=ErrorSchema, description="Already resolved, or the action does not apply")
@blp.alt_response(422, schema=ErrorSchema, description="Invalid action, note or amount")
@blp.alt_response(503, schema=ErrorSchema, description="WeChat Pay unreachable")
def resolve(data, discrepancy_id):
    """Resolve a discrepancy: fulfil the missed payment, refund the order, or explain it."""
    return reconciliation_resolve.resolve_discrepancy(
        current_principal(),
        discrepancy_id,
        data["action"],
        data["note"],
        order_policy(),
        payment_provider(),
        data.get("grams"),
    )
