"""Admin endpoints of registry retirement: retirable tonnes, retirements and their workflow."""

from __future__ import annotations

from flask import Response

from api.admin_retirement.schemas import (
    BeneficiarySchema,
    CancelSchema,
    ConfirmSchema,
    RetirableQuerySchema,
    RetirementCreateSchema,
    RetirementQuerySchema,
    RetirementSchema,
    SubmitSchema,
    TonneSchema,
)
from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.errors import ErrorSchema
from services.registry import retirement

blp = Blueprint(
    "admin_retirement",
    __name__,
    url_prefix="/api/v1/admin/retirements",
    description="Admin: retire sold tonnes at the registry (draft → submitted → confirmed)",
)


def _actor() -> int:
    return current_principal().user_id


@blp.route("/retirable", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(RetirableQuerySchema(), location="query")
@blp.response(200, TonneSchema(many=True))
@blp.paginate()
def list_retirable(query, pagination_parameters):
    """List fully sold tonnes that no retirement holds yet, oldest batch first."""
    items, total = retirement.list_retirable(
        page=pagination_parameters.page, page_size=pagination_parameters.page_size, **query
    )
    pagination_parameters.item_count = total
    return items


@blp.route("", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(RetirementCreateSchema())
@blp.response(201, RetirementSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such credit kind or project")
@blp.alt_response(409, schema=ErrorSchema, description="No retirable tonne, or another retirement took them")
def create(data):
    """Draft a retirement of the retirable tonnes of one credit kind; they are locked against refunds."""
    return retirement.create_draft(_actor(), **data)


@blp.route("", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(RetirementQuerySchema(), location="query")
@blp.response(200, RetirementSchema(many=True))
@blp.paginate()
def list_all(query, pagination_parameters):
    """List retirements, newest first."""
    items, total = retirement.list_retirements(
        page=pagination_parameters.page, page_size=pagination_parameters.page_size, **query
    )
    pagination_parameters.item_count = total
    return items


@blp.route("/<int:retirement_id>", methods=["GET"])
@auth_required(admin=True)
@blp.response(200, RetirementSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such retirement")
def get(retirement_id: int):
    """Read a retirement with its serial ranges per batch."""
    return retirement.get_retirement(retirement_id)


@blp.route("/<int:retirement_id>/tonnes", methods=["GET"])
@auth_required(admin=True)
@blp.response(200, TonneSchema(many=True))
@blp.alt_response(404, schema=ErrorSchema, description="No such retirement")
@blp.paginate()
def list_tonnes(retirement_id: int, pagination_parameters):
    """List the tonnes of a retirement by batch and serial."""
    items, total = retirement.list_tonnes(
        retirement_id, pagination_parameters.page, pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return items


@blp.route("/<int:retirement_id>/tonnes.csv", methods=["GET"])
@auth_required(admin=True)
@blp.response(200, content_type="text/csv", description="One row per tonne, for the registry")
@blp.alt_response(404, schema=ErrorSchema, description="No such retirement")
def export_tonnes(retirement_id: int):
    """Download the tonne list of a retirement as CSV for the registry."""
    name, text = retirement.export_tonnes_csv(retirement_id)
    return Response(
        text,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@blp.route("/<int:retirement_id>/beneficiaries", methods=["GET"])
@auth_required(admin=True)
@blp.response(200, BeneficiarySchema(many=True))
@blp.alt_response(404, schema=ErrorSchema, description="No such retirement")
@blp.paginate()
def list_beneficiaries(retirement_id: int, pagination_parameters):
    """List, tonne by tonne, the orders and certificates the tonnes are retired for."""
    items, total = retirement.list_beneficiaries(
        retirement_id, pagination_parameters.page, pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return items


@blp.route("/<int:retirement_id>/submit", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(SubmitSchema())
@blp.response(200, RetirementSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such retirement")
@blp.alt_response(409, schema=ErrorSchema, description="Not a draft")
def submit(data, retirement_id: int):
    """Record that the tonne list has been filed at the registry."""
    return retirement.submit(_actor(), retirement_id, **data)


@blp.route("/<int:retirement_id>/confirm", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(ConfirmSchema())
@blp.response(200, RetirementSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such retirement")
@blp.alt_response(409, schema=ErrorSchema, description="Not submitted, or tonnes no longer fully sold")
@blp.alt_response(422, schema=ErrorSchema, description="Missing reference or a future date")
def confirm(data, retirement_id: int):
    """Record the registry's confirmation: the tonnes are retired."""
    return retirement.confirm(_actor(), retirement_id, **data)


@blp.route("/<int:retirement_id>/cancel", methods=["POST"])
@auth_required(admin=True)
@blp.arguments(CancelSchema())
@blp.response(200, RetirementSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such retirement")
@blp.alt_response(409, schema=ErrorSchema, description="Already confirmed or cancelled")
def cancel(data, retirement_id: int):
    """Cancel a retirement not yet confirmed; its tonnes are free again."""
    return retirement.cancel(_actor(), retirement_id, data["reason"])
