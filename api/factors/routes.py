"""Emission factor sets: the public current set, and admin versions, factors and publishing."""

from __future__ import annotations

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from api.factors.schemas import (
    CurrentFactorSetSchema,
    FactorFilterSchema,
    FactorSchema,
    FactorSetSchema,
    FactorUploadFormSchema,
    FactorUploadSchema,
    PublishedSetSchema,
)
from services.footprint import factor_library

blp = Blueprint("factors", __name__, url_prefix="/api/v1", description="Emission factors and their sources")


@blp.route("/factors/current", methods=["GET"])
@blp.response(200, CurrentFactorSetSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No factor set published yet")
def current():
    """The factors the calculator uses now, each with its source, and the province and city tables."""
    return factor_library.current_set()


@blp.route("/admin/factor-sets", methods=["GET"])
@auth_required(admin=True)
@blp.response(200, FactorSetSchema(many=True))
@blp.paginate()
def list_sets(pagination_parameters):
    """List the published factor-set versions, newest first."""
    rows, total = factor_library.list_sets(pagination_parameters.page, pagination_parameters.page_size)
    pagination_parameters.item_count = total
    return rows


@blp.route("/admin/factor-sets/<int:version>/factors", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(FactorFilterSchema(), location="query")
@blp.response(200, FactorSchema(many=True))
@blp.alt_response(404, schema=ErrorSchema, description="No such version")
@blp.paginate()
def list_factors(filters, version, pagination_parameters):
    """List the factors of one version by key, optionally of one category."""
    rows, total = factor_library.list_factors(
        version, pagination_parameters.page, pagination_parameters.page_size, filters.get("category")
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/admin/factor-sets", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(FactorUploadFormSchema(), location="form")
@blp.arguments(FactorUploadSchema(), location="files")
@blp.response(201, PublishedSetSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Another version was published at the same time")
@blp.alt_response(
    422, schema=ErrorSchema, description="The files have faults; `errors` lists each with file, row and field"
)
def publish(form, files):
    """Publish a new factor-set version from uploaded files (old footprints keep their version)."""
    uploads = [(upload.filename or f"{name}.csv", upload.read(), name) for name, upload in files.items()]
    return factor_library.publish_files(
        uploads,
        form["note"],
        actor_id=current_principal().user_id,
        source=f"api:{files['file'].filename or ''}",
    )
