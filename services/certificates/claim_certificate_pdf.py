"""The certificate of an institutional claim as a PDF: what it is for, the tonnes, the credits."""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from services.certificates.certificate_pdf import format_grams
from services.certificates.pdf_font import certificate_font


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def render_claim_pdf(claim: dict[str, Any], public_url: str) -> bytes:
    """One A4 page from the claim's public record (defendant masked), with the credits' serials."""
    font = certificate_font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, initialFontName=font)
    pdf.setTitle(claim["certificate_title"])
    width, height = A4
    pdf.setStrokeColor(colors.HexColor("#2e7d32"))
    pdf.setLineWidth(3)
    pdf.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    pdf.setFont(font, 22)
    pdf.drawCentredString(width / 2, height - 40 * mm, claim["certificate_title"])
    credits = claim["credits"]
    if claim["order_status"] != "fulfilled" or credits is None:
        pdf.setFillColor(colors.red)
        pdf.setFont(font, 14)
        pdf.drawCentredString(width / 2, height - 50 * mm, "未完成 NOT FULFILLED")
        pdf.setFillColor(colors.black)
    y = height - 65 * mm
    pdf.setFont(font, 12)
    lines = [
        f"单位 Organisation: {claim['organisation']}",
        f"所需 Required: {format_grams(claim['grams_required'])} CO2e",
    ]
    for line in lines + _wrap(claim["certificate_statement"], 36):
        pdf.drawString(22 * mm, y, line)
        y -= 8 * mm
    if credits:
        y -= 4 * mm
        pdf.setFont(font, 10)
        pdf.drawString(
            22 * mm, y, f"证书 {credits['certificate_number']}  验证码 {credits['verification_code']}"
        )
        y -= 6 * mm
        pdf.setFont(font, 9)
        for serial in credits["serials"][:40]:
            pdf.drawString(
                24 * mm,
                y,
                f"{serial['project_name']} ({serial['kind']}, {serial['vintage']}) {serial['serial']} "
                f"{format_grams(serial['grams'])} {serial['retirement']}",
            )
            y -= 5 * mm
    pdf.setFont(font, 8)
    pdf.drawString(20 * mm, 18 * mm, f"公开记录 Public record: {public_url}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
