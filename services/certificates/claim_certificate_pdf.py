"""The certificate of an institutional claim as a PDF: what it is for, the tonnes, the credits.

Set in the certificate frame (`certificate_frame`) from the claim's public record (the defendant
masked): the organisation, the tonnes required and bought with their plain-language equivalent, the
statement, the projects and serials as compressed ranges with their retirement, and the code that
opens the record's page (`/claims/<code>`). A land-use compensation prints through it too, with its
permit and occupied area (`/land-compensations/<code>`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.certificates import certificate_credits, share_code
from services.certificates.certificate_credits import ProjectFacts
from services.certificates.certificate_frame import CertificateDocument, Row, amount_row, format_grams, render

CLAIM_KINDS = frozenset({"ecological_justice", "tree_planting", "annual_neutralisation"})
NOT_FULFILLED = "未完成 NOT FULFILLED"


def _compensation_rows(claim: Mapping[str, Any]) -> list[Row]:
    """A land-use compensation's permit, project and occupied forest land, with the factor it used."""
    rows = [
        Row("许可 Permit", f"{claim['permit_number']} · {claim.get('permit_authority') or ''}".strip(" ·"))
    ]
    if claim.get("business_project"):
        rows.append(Row("用地项目 Land use", claim["business_project"]))
    if claim.get("location"):
        rows.append(Row("地点 Place", claim["location"]))
    if claim.get("occupied_area_m2") is not None:
        factor = f"{claim['factor_t_per_ha']} t CO2e/ha" if claim.get("factor_t_per_ha") is not None else ""
        rows.append(
            Row(
                "占用林地 Occupied forest land",
                f"{claim['occupied_area_m2']:,} m²",
                f"{factor} {claim.get('factor_source') or ''}".strip(),
            )
        )
    return rows


def claim_document(
    claim: Mapping[str, Any], public_url: str, *, projects: Mapping[str, ProjectFacts] | None = None
) -> CertificateDocument:
    """What the claim's certificate prints (the projects' facts read from the pool unless given)."""
    credits = claim["credits"]
    kind = (
        share_code.CLAIM
        if claim.get("kind", "ecological_justice") in CLAIM_KINDS
        else share_code.LAND_COMPENSATION
    )
    rows = [Row("单位 Organisation", claim["organisation"])]
    if claim.get("permit_number"):
        rows += _compensation_rows(claim)
    rows.append(amount_row("所需 Required", claim["grams_required"]))
    sections = []
    if credits:
        serials = certificate_credits.from_serials(credits["serials"])
        facts = certificate_credits.project_facts(serials) if projects is None else projects
        grams = credits.get("grams", sum(serial.grams for serial in serials))
        rows += [
            Row(
                "认购并注销 Credits",
                f"{format_grams(grams)} CO2e",
                f"证书 Certificate {credits['certificate_number']} · 验证码 {credits['verification_code']}",
            ),
            certificate_credits.retirement_row(serials),
        ]
        sections = [
            certificate_credits.project_section(serials, facts),
            certificate_credits.serial_section(serials, public_url),
        ]
    fulfilled = claim["order_status"] == "fulfilled" and credits is not None
    return CertificateDocument(
        pdf_title=claim["certificate_title"],
        title=claim["certificate_title"],
        subtitle="Certificate of Forestry Carbon Credits",
        code=share_code.share_code(kind, claim.get("code") or "", public_url),
        rows=tuple(rows),
        statement=claim["certificate_statement"],
        sections=tuple(sections),
        stamp="" if fulfilled else NOT_FULFILLED,
        reference=credits["certificate_number"] if credits else "",
    )


def render_claim_pdf(claim: dict[str, Any], public_url: str) -> bytes:
    """At most two A4 pages from the claim's public record (defendant masked), with the credits' serials."""
    return render(claim_document(claim, public_url))
