"""The event neutralisation certificate as a PDF: emissions by source, a bar chart, the credits used.

Set in the certificate frame (`certificate_frame`) from the event's disclosure: the event, its
emissions table (each source's activity data times its factor, the factor printed with its unit,
the labels wrapping in their cells), the estimate against the actual by source as a chart, the
offset's projects and serials as compressed ranges, and the code that opens the public disclosure.
However large the event, it fits in two pages: the longest tables end in a summarised tail that
points to the disclosure, where every row is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.units import mm

from services.certificates import certificate_credits, share_code
from services.certificates.certificate_credits import ProjectFacts
from services.certificates.certificate_frame import (
    FRAME_WIDTH,
    CertificateDocument,
    Row,
    Section,
    amount_row,
    format_grams,
    render,
)
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
TITLE = "大型活动碳中和证书"


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


def _number(value: Any) -> str:
    """A figure with thousands separated and no trailing zeros: 1,000 · 0.5306."""
    try:
        figure = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    text = f"{figure:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _chart(estimate: dict[str, int], actual: dict[str, int], width: float, font: str) -> Drawing:
    kinds = [kind for kind in SOURCE_LABELS if kind in estimate or kind in actual]
    drawing = Drawing(width, 44 * mm, initialFontName=font)  # not Helvetica, which is never embedded
    chart = VerticalBarChart()
    chart.x, chart.y = 12 * mm, 8 * mm
    chart.width, chart.height = width - 20 * mm, 29 * mm
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
    drawing.add(
        String(12 * mm, 40 * mm, "t CO2e  浅色: 预估 estimate  深色: 实际 actual", fontName=font, fontSize=8)
    )
    return drawing


def _source_row(source: Mapping[str, Any]) -> tuple[str, ...]:
    label = SOURCE_LABELS.get(source["kind"], source["kind"])
    unit = source["activity_unit"]
    version = source.get("factor_set_version")
    origin = f"因子库 v{version}" if version else "主办方引用 organiser-cited"
    if source.get("factor_source"):
        origin = f"{origin} · {source['factor_source']}"
    return (
        f"{label} {source['description']}".strip(),
        f"{_number(source['activity'])} {unit} × {_number(source['factor_kg_per_unit'])} kg CO2e/{unit}",
        origin,
        format_grams(source["grams"]),
    )


def _emissions(disclosure: Mapping[str, Any], url: str, font: str) -> Section:
    actual = bool(disclosure["actual"]["sources"])
    sources = disclosure["actual" if actual else "estimate"]["sources"]
    estimate = _by_kind(disclosure["estimate"]["sources"])
    by_actual = _by_kind(disclosure["actual"]["sources"])
    chart = _chart(estimate, by_actual, FRAME_WIDTH, font) if estimate or by_actual else None
    return Section(
        heading=(
            "实际排放源 Actual emissions by source（活动数据 × 排放因子 activity × factor）"
            if actual
            else "预估排放源 Estimated emissions by source（活动数据 × 排放因子 activity × factor）"
        ),
        columns=(
            "排放源 Source",
            "活动数据 × 排放因子 Activity × factor",
            "因子来源 Factor source",
            "排放 Emissions",
        ),
        widths=(0.27, 0.33, 0.24, 0.16),
        rows=tuple(_source_row(source) for source in sources),
        tail=f"… 另有 {{n}} 项排放源 and {{n}} more sources — full list at {url}",
        shrinkable=True,
        figure=chart,
    )


def event_document(
    disclosure: Mapping[str, Any],
    disclosure_url: str,
    *,
    projects: Mapping[str, ProjectFacts] | None = None,
) -> CertificateDocument:
    """What the event's certificate prints (the projects' facts read from the pool unless given)."""
    font = certificate_font()
    credits = disclosure["offset"]["credits"]
    rows = [
        Row("活动 Event", disclosure["name"]),
        Row("主办 Organiser", disclosure["organisation"]),
        Row("时间 Dates", f"{disclosure['start_date']} – {disclosure['end_date']}"),
        Row("地点 City", disclosure["venue_city"]),
        amount_row("实际排放 Actual", disclosure["actual"]["total_grams"]),
        Row("预估排放 Estimate", f"{format_grams(disclosure['estimate']['total_grams'])} CO2e"),
        Row("中和期限 Neutralise by", str(disclosure["offset_deadline"])),
        Row("排放因子库 Factor sets", _factor_sets(disclosure["actual"]["sources"])),
    ]
    sections = [_emissions(disclosure, disclosure_url, font)]
    if credits:
        serials = certificate_credits.from_serials(credits["serials"])
        facts = certificate_credits.project_facts(serials) if projects is None else projects
        rows += [
            Row(
                "抵消 Offset",
                f"{format_grams(credits['grams'])} CO2e",
                f"证书 Certificate {credits['certificate_number']} · 验证码 {credits['verification_code']}",
            ),
            certificate_credits.retirement_row(serials),
        ]
        sections += [
            certificate_credits.project_section(serials, facts),
            certificate_credits.serial_section(serials, disclosure_url),
        ]
    return CertificateDocument(
        pdf_title=f"{TITLE} {disclosure['name']}",
        title=TITLE,
        subtitle="Event Carbon Neutrality Certificate",
        code=share_code.share_code(share_code.EVENT, disclosure.get("code") or "", disclosure_url),
        rows=tuple(rows),
        sections=tuple(sections),
        stamp="" if disclosure["neutral"] else "尚未完成中和 NOT YET NEUTRAL",
        reference=disclosure["name"],
    )


def render_event_pdf(disclosure: dict[str, Any], disclosure_url: str) -> bytes:
    """At most two A4 pages: the event, its emissions table and chart, the credits, the code."""
    return render(event_document(disclosure, disclosure_url))
