"""The certificate as a PDF: Chinese text in an embedded TrueType font (`pdf_font`), a QR code to verify."""

from __future__ import annotations

import io

import qrcode
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from models import Certificate, CertificateStatus
from services.certificates.pdf_font import certificate_font
from services.certificates.public_urls import certificate_verification_url


def format_grams(grams: int) -> str:
    if grams >= 1_000_000:
        return f"{grams / 1_000_000:,.3f} t"
    return f"{grams / 1_000:,.1f} kg"


def render_pdf(certificate: Certificate, base_url: str) -> bytes:
    """One A4 page: holder, amount, projects and registry serials, date, code and QR."""
    font = certificate_font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, initialFontName=font)
    pdf.setTitle(f"碳汇认购证书 {certificate.number}")
    width, height = A4
    pdf.setStrokeColor(colors.HexColor("#2e7d32"))
    pdf.setLineWidth(3)
    pdf.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    pdf.setFont(font, 26)
    pdf.drawCentredString(width / 2, height - 45 * mm, "碳汇认购证书")
    pdf.setFont(font, 12)
    pdf.drawCentredString(width / 2, height - 53 * mm, "Certificate of Carbon Offset")
    if certificate.status != CertificateStatus.VALID:
        pdf.setFillColor(colors.red)
        pdf.setFont(font, 20)
        pdf.drawCentredString(width / 2, height - 64 * mm, "已作废 VOID")
        pdf.setFillColor(colors.black)
    y = height - 80 * mm
    pdf.setFont(font, 14)
    for line in (
        f"持有人 Holder: {certificate.holder_name}",
        f"认购量 Amount: {format_grams(certificate.grams)} CO2e",
        f"证书编号 Number: {certificate.number}",
        f"签发日期 Date: {certificate.issued_at:%Y-%m-%d}",
        f"验证码 Verification code: {certificate.verification_code}",
    ):
        pdf.drawString(25 * mm, y, line)
        y -= 9 * mm
    y -= 4 * mm
    pdf.setFont(font, 11)
    pdf.drawString(25 * mm, y, "项目与登记序列号 Projects and registry serials:")
    y -= 7 * mm
    pdf.setFont(font, 9)
    for claim in certificate.claims[:40]:
        pdf.drawString(
            28 * mm,
            y,
            f"{claim['project_name']} ({claim['kind']}, {claim['vintage']})  {claim['serial']}  "
            f"g {claim['from_g']:,}–{claim['to_g']:,}",
        )
        y -= 5.5 * mm
    if len(certificate.claims) > 40:
        pdf.drawString(28 * mm, y, f"… {len(certificate.claims) - 40} more serials online")
    url = certificate_verification_url(base_url, certificate.verification_code)
    image = qrcode.make(url, box_size=6, border=2)
    png = io.BytesIO()
    image.save(png, format="PNG")
    png.seek(0)
    pdf.drawImage(ImageReader(png), width - 70 * mm, 20 * mm, 50 * mm, 50 * mm)
    pdf.setFont(font, 8)
    pdf.drawString(20 * mm, 22 * mm, f"扫码或访问验证 Verify: {url}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
