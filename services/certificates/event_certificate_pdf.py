"""The event neutralisation certificate as a PDF: emissions by source, a bar chart, the credits used."""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from services.certificates.certificate_pdf import format_grams
from services.certificates.pdf_font import certificate_font

SOURCE_LABELS = {
    "venue_electricity": "场馆用电",
    "venue_heat": "场馆用热",
    "venue_fuel": "场馆化石燃料",
    "vehicles": "活动用车",
    "travel": "参会人员交通",
    "accommodation": "住宿",
    "catering": "餐饮",
    "materials": "物料",
    "waste": "废弃物",
}


def _by_kind(sources: list[dict[str, Any]]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for source in sources:
        totals[source["kind"]] += source["grams"]
    return dict(totals)


def _factor_sets(sources: list[dict[str, Any]]) -> str:
    """The factor-library versions the sources used ("v3"), and whether some factors were the organiser's."""
    versions = sorted({source["factor_set_version"] for source in sources if source["factor_set_version"]})
    named = ", ".join(f"v{version}" for version in versions)
    if any(source["factor_set_version"] is None for source in sources):
        named = f"{named} + organiser-cited" if named else "organiser-cited"
    return named or "-"


def _chart(estimate: dict[str, int], actual: dict[str, int], width: float, font: str) -> Drawing:
    kinds = [kind for kind in SOURCE_LABELS if kind in estimate or kind in actual]
    drawing = Drawing(width, 62 * mm, initialFontName=font)  # not Helvetica, which is never embedded
    chart = VerticalBarChart()
    chart.x, chart.y = 12 * mm, 12 * mm
    chart.width, chart.height = width - 20 * mm, 42 * mm
    chart.data = [
        [estimate.get(kind, 0) / 1_000_000 for kind in kinds],
        [actual.get(kind, 0) / 1_000_000 for kind in kinds],
    ]
    chart.categoryAxis.categoryNames = [SOURCE_LABELS[kind] for kind in kinds]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = font  # every font of the page is the embedded one
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#a5d6a7")
    chart.bars[1].fillColor = colors.HexColor("#2e7d32")
    drawing.add(chart)
    drawing.add(String(12 * mm, 57 * mm, "t CO2e  浅色: 预估  深色: 实际", fontName=font, fontSize=8))
    return drawing


def render_event_pdf(disclosure: dict[str, Any], disclosure_url: str) -> bytes:
    """One A4 page (two when many serials): the event, its emissions table and chart, the credits."""
    font = certificate_font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, initialFontName=font)
    pdf.setTitle(f"大型活动碳中和证书 {disclosure['name']}")
    width, height = A4
    pdf.setStrokeColor(colors.HexColor("#2e7d32"))
    pdf.setLineWidth(3)
    pdf.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    pdf.setFont(font, 22)
    pdf.drawCentredString(width / 2, height - 35 * mm, "大型活动碳中和证书")
    pdf.setFont(font, 10)
    pdf.drawCentredString(width / 2, height - 42 * mm, "Event Carbon Neutrality Certificate")
    if not disclosure["neutral"]:
        pdf.setFillColor(colors.red)
        pdf.setFont(font, 14)
        pdf.drawCentredString(width / 2, height - 50 * mm, "尚未完成中和 NOT YET NEUTRAL")
        pdf.setFillColor(colors.black)
    y = height - 60 * mm
    pdf.setFont(font, 11)
    for line in (
        f"活动 Event: {disclosure['name']}",
        f"主办 Organiser: {disclosure['organisation']}",
        f"时间 Dates: {disclosure['start_date']} – {disclosure['end_date']}    地点 City: {disclosure['venue_city']}",
        f"预估排放 Estimate: {format_grams(disclosure['estimate']['total_grams'])} CO2e    "
        f"实际排放 Actual: {format_grams(disclosure['actual']['total_grams'])} CO2e",
        f"中和期限 Neutralise by: {disclosure['offset_deadline']}    "
        f"排放因子库 Factor sets: {_factor_sets(disclosure['actual']['sources'])}",
    ):
        pdf.drawString(22 * mm, y, line)
        y -= 7 * mm
    y -= 2 * mm
    pdf.setFont(font, 9)
    pdf.drawString(22 * mm, y, "实际排放源 Actual emissions by source (活动数据 × 排放因子)")
    y -= 5.5 * mm
    for source in disclosure["actual"]["sources"][:18]:
        label = SOURCE_LABELS.get(source["kind"], source["kind"])
        pdf.drawString(
            24 * mm,
            y,
            f"{label} {source['description'][:24]}: {source['activity']:,} {source['activity_unit']} × "
            f"{source['factor_kg_per_unit']} kg = {format_grams(source['grams'])}",
        )
        y -= 5 * mm
    estimate = _by_kind(disclosure["estimate"]["sources"])
    actual = _by_kind(disclosure["actual"]["sources"])
    if estimate or actual:
        drawing = _chart(estimate, actual, width - 44 * mm, font)
        y -= drawing.height
        drawing.drawOn(pdf, 22 * mm, y)
    y -= 6 * mm
    credits = disclosure["offset"]["credits"]
    if credits:
        pdf.setFont(font, 9)
        pdf.drawString(
            22 * mm,
            y,
            f"抵消 Offset: {format_grams(credits['grams'])}  证书 {credits['certificate_number']}  "
            f"验证码 {credits['verification_code']}",
        )
        y -= 5 * mm
        for serial in credits["serials"]:
            if y < 30 * mm:
                pdf.showPage()
                pdf.setFont(font, 9)
                y = height - 20 * mm
            pdf.drawString(
                24 * mm,
                y,
                f"{serial['project_name']} ({serial['kind']}, {serial['vintage']}) {serial['serial']} "
                f"{format_grams(serial['grams'])} {serial['retirement']}",
            )
            y -= 4.5 * mm
    pdf.setFont(font, 8)
    pdf.drawString(20 * mm, 18 * mm, f"公开披露 Public disclosure: {disclosure_url}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
