"""The certificate of a tree adoption as a PDF: the forest, the plot, the species, the trees, a QR code.

It states no tonnes: the trees' projected sink is not a credit and is not counted as an offset.
"""

from __future__ import annotations

import io
from typing import Any

import qrcode
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from services.certificates.pdf_font import certificate_font

TITLE = "认建认养证书"


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def render_adoption_pdf(record: dict[str, Any], public_url: str) -> bytes:
    """One A4 page from an adoption's record (`services.forestry.adoptions.certificate_record`)."""
    font = certificate_font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, initialFontName=font)
    pdf.setTitle(f"{TITLE} {record['certificate_number']}")
    width, height = A4
    pdf.setStrokeColor(colors.HexColor("#2e7d32"))
    pdf.setLineWidth(3)
    pdf.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    pdf.setFont(font, 26)
    pdf.drawCentredString(width / 2, height - 45 * mm, TITLE)
    pdf.setFont(font, 12)
    pdf.drawCentredString(width / 2, height - 53 * mm, "Certificate of Tree Adoption")
    if not record["valid"]:
        pdf.setFillColor(colors.red)
        pdf.setFont(font, 20)
        pdf.drawCentredString(width / 2, height - 64 * mm, "已作废 VOID")
        pdf.setFillColor(colors.black)
    trees = (
        f"整块认养 whole plot, {record['trees']} 株"
        if record["whole_plot"]
        else f"{record['trees']} 株 trees"
    )
    y = height - 80 * mm
    pdf.setFont(font, 13)
    for line in (
        f"认养人 Adopter: {record['holder']}",
        f"纪念林 Memorial forest: {record['forest_name']} ({record['place']})",
        f"林地所有者 Owner: {record['owner']}",
        f"地块 Plot: {record['plot_code']}  {record['area_m2']:,} m²",
        f"树种 Species: {'、'.join(record['species'])}",
        f"认养 Adopted: {trees}",
        f"证书编号 Number: {record['certificate_number']}",
        f"日期 Date: {record['activated_on']:%Y-%m-%d}" if record["activated_on"] else "",
    ):
        pdf.drawString(25 * mm, y, line)
        y -= 9 * mm
    pdf.setFont(font, 10)
    for planting in record["plantings"][:12]:
        rate = f"，成活率 {planting['survival_rate']}%" if planting["survival_rate"] is not None else ""
        pdf.drawString(
            28 * mm,
            y,
            f"{planting['planted_on']:%Y-%m-%d} 植 {planting['species']} {planting['trees']} 株{rate}",
        )
        y -= 6 * mm
    y -= 2 * mm
    pdf.setFont(font, 10)
    for line in _wrap(record["statement"], 40):
        pdf.drawString(25 * mm, y, line)
        y -= 6 * mm
    image = qrcode.make(public_url, box_size=6, border=2)
    png = io.BytesIO()
    image.save(png, format="PNG")
    png.seek(0)
    pdf.drawImage(ImageReader(png), width - 70 * mm, 20 * mm, 50 * mm, 50 * mm)
    pdf.setFont(font, 8)
    pdf.drawString(20 * mm, 22 * mm, f"扫码或访问验证 Verify: {public_url}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
