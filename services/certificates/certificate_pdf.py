"""The certificate of a purchase as a PDF: a one-yuan sink, credits, a one-tap footprint offset …

Set in the certificate frame (`certificate_frame`): the holder, the amount and its plain-language
equivalent, the projects with their owners, the serials as compressed ranges with their retirement
at the registry, the number and date, and the code that opens `/verify/<code>`. The title follows
the channel of the certificate's order, as on its share poster.
"""

from __future__ import annotations

from collections.abc import Mapping

from models import Certificate, CertificateStatus, Channel, Order
from models.database import read_session
from services.certificates import certificate_credits, share_code
from services.certificates.certificate_credits import ProjectFacts
from services.certificates.certificate_frame import CertificateDocument, Row, amount_row, render
from services.certificates.certificate_frame import format_grams as format_grams
from services.certificates.certificates import registry_retirements_of
from services.certificates.public_urls import certificate_verification_url
from services.kernel.beijing_time import beijing_date
from services.registry.retired_tonnes import RegistryRetirement

# (title, subtitle, what the amount is) by the channel of the certificate's order.
WORDS: Mapping[Channel, tuple[str, str, str]] = {
    Channel.ONE_YUAN: ("碳汇认购证书", "Certificate of Carbon Offset", "认购量 Amount"),
    Channel.CREDITS: ("碳汇认购证书", "Certificate of Carbon Offset", "认购量 Amount"),
    Channel.FOOTPRINT_OFFSET: ("碳足迹抵消证书", "Certificate of Footprint Offset", "抵消量 Offset"),
    Channel.EVENT: ("活动碳中和用碳汇证书", "Certificate of Event Offset Credits", "中和量 Neutralised"),
    Channel.INSTITUTIONAL: ("碳汇认购证书", "Certificate of Carbon Offset", "认购量 Amount"),
    Channel.LAND_COMPENSATION: ("碳汇补偿证书", "Certificate of Land-use Compensation", "补偿量 Compensated"),
}
VOID = "已作废 VOID"


def _channel(certificate: Certificate) -> Channel:
    order = read_session().get(Order, certificate.order_id) if certificate.order_id is not None else None
    return order.channel if order is not None else Channel.ONE_YUAN


def certificate_document(
    certificate: Certificate,
    base_url: str,
    *,
    channel: Channel | None = None,
    retirements: Mapping[str, RegistryRetirement] | None = None,
    projects: Mapping[str, ProjectFacts] | None = None,
) -> CertificateDocument:
    """What the certificate prints; the order's channel, the retirements and the projects' facts are
    read from the database unless given."""
    channel = channel or _channel(certificate)
    title, subtitle, amount_label = WORDS.get(channel, WORDS[Channel.ONE_YUAN])
    claims = certificate.claims or []
    if retirements is None:
        stored = [claim for claim in claims if "batch_id" in claim]
        retirements = registry_retirements_of(read_session(), certificate) if stored else {}
    credits = certificate_credits.from_claims(claims, retirements)
    facts = certificate_credits.project_facts(credits) if projects is None else projects
    url = certificate_verification_url(base_url, certificate.verification_code)
    stamp, note = "", ""
    if certificate.status != CertificateStatus.VALID:
        stamp = VOID
        if certificate.status == CertificateStatus.SUPERSEDED:
            note = "部分退款后已换发新证书，以新证书为准 Superseded by a reissued certificate after a partial refund"
    return CertificateDocument(
        pdf_title=f"{title} {certificate.number}",
        title=title,
        subtitle=subtitle,
        code=share_code.share_code(share_code.CERTIFICATE, certificate.verification_code, url),
        rows=(
            Row("持有人 Holder", certificate.holder_name),
            amount_row(amount_label, certificate.grams),
            certificate_credits.retirement_row(credits),
            Row("证书编号 Number", certificate.number),
            Row("签发日期 Date", f"{beijing_date(certificate.issued_at):%Y-%m-%d}"),
            Row("验证码 Verification code", certificate.verification_code),
        ),
        sections=(
            certificate_credits.project_section(credits, facts),
            certificate_credits.serial_section(credits, url),
        ),
        stamp=stamp,
        stamp_note=note,
        reference=certificate.number,
    )


def render_pdf(certificate: Certificate, base_url: str) -> bytes:
    """The certificate as a PDF of at most two A4 pages, with the code that verifies it."""
    return render(certificate_document(certificate, base_url))
