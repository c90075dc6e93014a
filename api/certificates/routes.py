"""Certificates: the holder's list and PDF, and verification by anyone."""

from __future__ import annotations

from flask import Response, current_app, render_template

from api.auth import auth_required, current_principal
from api.blueprint import Blueprint
from api.certificates.schemas import CertificateSchema, VerificationSchema
from api.errors import ErrorSchema
from api.posters import NOT_MODIFIED_DESCRIPTION, POSTER_DESCRIPTION, poster_limit, poster_response
from services.certificates import certificates, posters
from services.certificates.certificate_pdf import format_grams, render_pdf
from services.kernel.errors import NotFound
from services.neutralisation import institutional

blp = Blueprint("certificates", __name__, url_prefix="", description="Certificates and their verification")


def verification_body(result: certificates.Verification) -> dict:
    certificate = result.certificate
    return {
        "valid": certificate.status.value == "valid",
        "status": certificate.status.value,
        "number": certificate.number,
        "holder": result.holder,
        "grams": certificate.grams,
        "issued_at": certificate.issued_at,
        "voided_at": certificate.voided_at,
        "replaced_by": result.replaced_by,
        "claims": [_verified_claim(claim, result) for claim in certificate.claims],
        "ledger": result.ledger,
    }


def _verified_claim(claim: dict, result: certificates.Verification) -> dict:
    record = result.retirements.get(claim["serial"]) if claim["serial"] in result.retired_serials else None
    return {
        **claim,
        "retirement": "retired" if record else "pending",
        "registry_retirement": None
        if record is None
        else {
            "registry_ref": record.registry_ref,
            "registry_url": record.registry_url,
            "retired_on": record.retired_on,
        },
    }


@blp.route("/api/v1/me/certificates", methods=["GET"])
@auth_required()
@blp.response(200, CertificateSchema(many=True))
@blp.paginate()
def list_mine(pagination_parameters):
    """List my certificates, newest first."""
    rows, total = certificates.list_for_user(
        current_principal(), pagination_parameters.page, pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/api/v1/me/certificates/<number>", methods=["GET"])
@auth_required()
@blp.response(200, CertificateSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such certificate of mine")
def get_mine(number):
    """Read one of my certificates."""
    return certificates.get_for_user(current_principal(), number)


@blp.route("/api/v1/me/certificates/<number>/pdf", methods=["GET"])
@auth_required()
@blp.response(200, content_type="application/pdf", description="The certificate as a PDF")
@blp.alt_response(404, schema=ErrorSchema, description="No such certificate of mine")
def pdf_mine(number):
    """Download one of my certificates as a PDF with a QR code to verify it."""
    certificate = certificates.get_for_user(current_principal(), number)
    body = render_pdf(certificate, current_app.config["PUBLIC_BASE_URL"])
    return Response(
        body,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="certificate-{certificate.number}.pdf"'},
    )


@blp.route("/api/v1/certificates/<code>", methods=["GET"])
@blp.response(200, VerificationSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No certificate has this code")
def verify(code):
    """Verify a certificate by its code, without login."""
    return verification_body(certificates.verify(code))


@blp.route("/api/v1/certificates/<code>/poster.png", methods=["GET"])
@poster_limit()
@blp.response(200, content_type="image/png", description=POSTER_DESCRIPTION)
@blp.alt_response(304, description=NOT_MODIFIED_DESCRIPTION)
@blp.alt_response(404, schema=ErrorSchema, description="No certificate has this code")
@blp.alt_response(503, schema=ErrorSchema, description="No font with Chinese glyphs is installed")
def poster(code):
    """A certificate's share poster, without login: the holder masked, a code that opens it."""
    return poster_response(posters.certificate_poster(code, current_app.config["PUBLIC_BASE_URL"]))


@blp.route("/verify/<code>", methods=["GET"])
@blp.response(200, content_type="text/html", description="Mobile-friendly verification page")
@blp.alt_response(404, content_type="text/html", description="Unknown code")
def verify_page(code):
    """The page a phone opens from the certificate's QR code."""
    try:
        body = verification_body(certificates.verify(code))
    except NotFound as exc:
        return Response(render_template("verify.html", result=None, code=code, message=exc.message), 404)
    return Response(render_template("verify.html", result=body, code=code, format_grams=format_grams), 200)


@blp.route("/claims/<code>", methods=["GET"])
@blp.response(
    200, content_type="text/html", description="Mobile-friendly public record of a paid institutional claim"
)
@blp.alt_response(404, content_type="text/html", description="No paid claim has this code")
def claim_page(code):
    """The page a phone opens from an institutional claim certificate's link: the defendant masked."""
    try:
        body = institutional.public_claim(code)
    except NotFound as exc:
        return Response(render_template("claim_record.html", claim=None, message=exc.message), 404)
    return Response(render_template("claim_record.html", claim=body, format_grams=format_grams), 200)
