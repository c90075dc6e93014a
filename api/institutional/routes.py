"""Institutional purchases of organisations, and their public record."""

from __future__ import annotations

from flask import Response, current_app

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.context import order_policy, payment_provider
from api.errors import ErrorSchema
from api.institutional.schemas import (
    ClaimCreateSchema,
    ClaimPlacedSchema,
    InstitutionalClaimSchema,
    PublicClaimSchema,
)
from api.posters import NOT_MODIFIED_DESCRIPTION, POSTER_DESCRIPTION, poster_limit, poster_response
from services.certificates import posters
from services.certificates.claim_certificate_pdf import render_claim_pdf
from services.certificates.public_urls import claim_record_url
from services.neutralisation import institutional
from services.sales.credit_purchase import PurchaseTerms

blp = Blueprint(
    "institutional",
    __name__,
    url_prefix="/api/v1",
    description="Ecological-justice restoration, tree-planting duty and annual neutralisation",
)


@blp.route("/organisations/<int:organisation_id>/institutional-claims", methods=["POST"])
@auth_required()
@blp.arguments(ClaimCreateSchema())
@blp.response(201, ClaimPlacedSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such organisation or project")
@blp.alt_response(409, schema=ErrorSchema, description="Not enough credits available")
@blp.alt_response(
    422, schema=ErrorSchema, description="A field the kind needs is missing, or kind not accepted"
)
def create(data, organisation_id):
    """Buy the credits a judgment, a tree-planting duty or a year's emissions require."""
    claim, purchase = institutional.create_claim(
        current_principal(),
        organisation_id,
        data,
        PurchaseTerms.from_settings(current_app.config),
        order_policy(),
        payment_provider(),
    )
    return {"claim": claim, "purchase": purchase}


@blp.route("/organisations/<int:organisation_id>/institutional-claims", methods=["GET"])
@auth_required()
@blp.response(200, InstitutionalClaimSchema(many=True))
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the organisation")
@blp.paginate()
def list_claims(organisation_id, pagination_parameters):
    """My organisation's institutional claims, newest first."""
    rows, total = institutional.list_claims(
        current_principal(), organisation_id, pagination_parameters.page, pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/public/institutional-claims/<code>", methods=["GET"])
@blp.response(200, PublicClaimSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No paid claim has this code")
def public(code):
    """The public record of a paid claim by its code: the defendant masked, the credits with their serials."""
    return institutional.public_claim(code)


@blp.route("/public/institutional-claims/<code>/poster.png", methods=["GET"])
@poster_limit()
@blp.response(200, content_type="image/png", description=POSTER_DESCRIPTION)
@blp.alt_response(304, description=NOT_MODIFIED_DESCRIPTION)
@blp.alt_response(404, schema=ErrorSchema, description="No paid claim has this code")
@blp.alt_response(503, schema=ErrorSchema, description="No font with Chinese glyphs is installed")
def poster(code):
    """A paid claim's share poster, without login: the defendant masked, a code that opens it."""
    record = institutional.public_claim(code)
    return poster_response(posters.claim_poster(record, current_app.config["PUBLIC_BASE_URL"]))


@blp.route(
    "/organisations/<int:organisation_id>/institutional-claims/<int:claim_id>/certificate.pdf",
    methods=["GET"],
)
@auth_required()
@blp.response(200, content_type="application/pdf", description="The claim's certificate")
@blp.alt_response(403, schema=ErrorSchema, description="Not a member of the organisation")
@blp.alt_response(404, schema=ErrorSchema, description="No such claim")
def certificate(organisation_id, claim_id):
    """The claim's certificate: what it is for, the tonnes and the credits' serials."""
    claim = institutional.member_claim(current_principal(), organisation_id, claim_id)
    body = render_claim_pdf(claim, claim_record_url(current_app.config["PUBLIC_BASE_URL"], claim["code"]))
    return Response(
        body,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="claim-{claim_id}-certificate.pdf"'},
    )
