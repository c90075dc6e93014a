"""The certificate of a tree adoption as a PDF: the forest, the plot, the species, the trees, a QR code.

Set in the certificate frame (`certificate_frame`) from an adoption's record
(`services.forestry.adoptions.certificate_record`), with the code that opens `/adoptions/<code>`.
It states no tonnes: the trees' projected sink is not a credit and is not counted as an offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.certificates import share_code
from services.certificates.certificate_frame import CertificateDocument, Row, Section, render

TITLE = "认建认养证书"
VOID = "已作废 VOID"


def _plantings(record: Mapping[str, Any], public_url: str) -> Section:
    rows = []
    for planting in record["plantings"]:
        rate = f"{planting['survival_rate']}%" if planting["survival_rate"] is not None else "—"
        rows.append(
            (f"{planting['planted_on']:%Y-%m-%d}", planting["species"], f"{planting['trees']:,} 株", rate)
        )
    return Section(
        heading="种植记录 Plantings",
        columns=("种植日期 Planted on", "树种 Species", "株数 Trees", "成活率 Survival"),
        widths=(0.25, 0.35, 0.2, 0.2),
        rows=tuple(rows),
        tail=f"… 另有 {{n}} 次种植 and {{n}} more plantings — full list at {public_url}",
        shrinkable=True,
    )


def adoption_document(record: Mapping[str, Any], public_url: str) -> CertificateDocument:
    """What the adoption's certificate prints."""
    trees = (
        f"整块认养 whole plot, {record['trees']:,} 株 trees"
        if record["whole_plot"]
        else f"{record['trees']:,} 株 trees"
    )
    rows = [
        Row("认养人 Adopter", record["holder"]),
        Row("纪念林 Memorial forest", f"{record['forest_name']}（{record['place']}）"),
        Row("林地所有者 Owner", record["owner"]),
        Row("地块 Plot", f"{record['plot_code']} · {record['area_m2']:,} m²"),
        Row("树种 Species", "、".join(record["species"]) or "—"),
        Row("认养 Adopted", trees),
        Row("证书编号 Number", record["certificate_number"]),
    ]
    if record["activated_on"]:
        rows.append(Row("日期 Date", f"{record['activated_on']:%Y-%m-%d}"))
    return CertificateDocument(
        pdf_title=f"{TITLE} {record['certificate_number']}",
        title=TITLE,
        subtitle="Certificate of Tree Adoption",
        code=share_code.share_code(share_code.ADOPTION, record.get("code") or "", public_url),
        rows=tuple(rows),
        statement=record["statement"],
        sections=(_plantings(record, public_url),) if record["plantings"] else (),
        stamp="" if record["valid"] else VOID,
        reference=record["certificate_number"],
    )


def render_adoption_pdf(record: dict[str, Any], public_url: str) -> bytes:
    """At most two A4 pages from an adoption's record (`services.forestry.adoptions.certificate_record`)."""
    return render(adoption_document(record, public_url))
