"""Land-use compensation: the quote, buying the sink with the permit, the record and its certificate."""

from __future__ import annotations

from flask import Response, current_app, render_template

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.context import order_policy, payment_provider
from api.errors import ErrorSchema
from api.land_compensation.schemas import (
    CompensationCreateSchema,
    CompensationPlacedSchema,
    CompensationQuerySchema,
    CompensationQuoteSchema,
    CompensationSchema,
    PublicCompensationSchema,
    QueryAreaSchema,
)
from api.limits import limiter, per_caller
from api.orders.routes import IDEMPOTENCY_HEADER, _order_limit, idempotency_key
from services.certificates.certificate_pdf import format_grams
from services.certificates.claim_certificate_pdf import render_claim_pdf
from services.certificates.public_urls import land_compensation_record_url
from services.forestry import land_compensation
from services.forestry.land_compensation import CompensationTerms
from services.kernel.errors import NotFound

blp = Blueprint(
    "land_compensation",
    __name__,
    url_prefix="",
    description="经营性项目用地碳汇补偿: the sink a business project occupying forest land buys with its permit",
)


def _terms() -> CompensationTerms:
    return CompensationTerms.from_settings(current_app.config)


@blp.route("/api/v1/land-compensations/quote", methods=["GET"])
@auth_required()
@blp.arguments(QueryAreaSchema(), location="query")
@blp.response(200, CompensationQuoteSchema)
def quote(query):
    """What compensating an occupied area takes: grams by the cited factor, and the fee per project."""
    return land_compensation.quote(query["occupied_area_m2"], _terms())


@blp.route("/api/v1/organisations/<int:organisation_id>/land-compensations", methods=["POST"])
@limiter.limit(_order_limit, key_func=per_caller)
@auth_required()
@blp.arguments(CompensationCreateSchema())
@blp.response(201, CompensationPlacedSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such organisation or project")
@blp.alt_response(
    409, schema=ErrorSchema, description="Not enough credits available, or the permit is compensated already"
)
@blp.alt_response(
    422,
    schema=ErrorSchema,
    description="Invalid request, credit kind not accepted, or reused Idempotency-Key",
)
@blp.doc(parameters=[IDEMPOTENCY_HEADER])
def create(data, organisation_id):
    """Buy the sink a land-use permit's occupied forest land requires, by WeChat Pay or bank transfer."""
    compensation, purchase = land_compensation.create_compensation(
        current_principal(),
        organisation_id,
        data,
        _terms(),
        order_policy(),
        payment_provider(),
        idempotency_key(),
    )
    return {"compensation": compensation, "purchase": purchase}


@blp.route("/api/v1/organisations/<int:organisation_id>/land-compensations", methods=["GET"])
@auth_required()
@blp.response(200, CompensationSchema(many=True))
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the organisation")
@blp.paginate()
def list_mine(organisation_id, pagination_parameters):
    """My organisation's land-use compensations, newest first."""
    rows, total = land_compensation.list_for_organisation(
        current_principal(), organisation_id, pagination_parameters.page, pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return rows


@blp.route(
    "/api/v1/organisations/<int:organisation_id>/land-compensations/<int:compensation_id>", methods=["GET"]
)
@auth_required()
@blp.response(200, CompensationSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such compensation of the organisation")
def get_one(organisation_id, compensation_id):
    """Read one of my organisation's land-use compensations."""
    found = land_compensation.get_compensation(current_principal(), compensation_id)
    if found["organisation_id"] != organisation_id:
        raise NotFound(f"No land-use compensation has id {compensation_id}.")
    return found


@blp.route(
    "/api/v1/organisations/<int:organisation_id>/land-compensations/<int:compensation_id>/certificate.pdf",
    methods=["GET"],
)
@auth_required()
@blp.response(200, content_type="application/pdf", description="The compensation's certificate")
@blp.alt_response(404, schema=ErrorSchema, description="No such compensation of the organisation")
def certificate(organisation_id, compensation_id):
    """The compensation's certificate: the permit, the area, the tonnes and the credits' serials."""
    found = land_compensation.get_compensation(current_principal(), compensation_id)
    if found["organisation_id"] != organisation_id:
        raise NotFound(f"No land-use compensation has id {compensation_id}.")
    record = land_compensation.member_record(current_principal(), compensation_id)
    url = land_compensation_record_url(current_app.config["PUBLIC_BASE_URL"], record["code"])
    return Response(
        render_claim_pdf(record, url),
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="land-compensation-{compensation_id}-certificate.pdf"'
        },
    )


@blp.route("/api/v1/admin/land-compensations", methods=["GET"])
@auth_required(admin=True)
@blp.arguments(CompensationQuerySchema(), location="query")
@blp.response(200, CompensationSchema(many=True))
@blp.paginate()
def list_all(query, pagination_parameters):
    """Every land-use compensation, newest first, or those of one permit number."""
    rows, total = land_compensation.list_all(
        pagination_parameters.page, pagination_parameters.page_size, query.get("permit_number")
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/api/v1/public/land-compensations/<code>", methods=["GET"])
@blp.response(200, PublicCompensationSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No paid compensation has this code")
def public(code):
    """The public record of a paid compensation by its code: the permit, the area, the credits' serials."""
    return land_compensation.public_record(code)


@blp.route("/land-compensations/<code>", methods=["GET"])
@blp.response(200, content_type="text/html", description="Mobile-friendly record of a paid compensation")
@blp.alt_response(404, content_type="text/html", description="No paid compensation has this code")
def page(code):
    """The page a phone opens from a compensation certificate's link."""
    try:
        record = land_compensation.public_record(code)
    except NotFound as exc:
        return Response(render_template("claim_record.html", claim=None, message=exc.message), 404)
    return Response(render_template("claim_record.html", claim=record, format_grams=format_grams), 200)
