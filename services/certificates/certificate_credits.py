"""The credits a certificate draws on, as the frame prints them: projects, serial ranges, retirement.

Every kind that sells credits (a personal or offset certificate, an event's offset, an institutional
claim, a land-use compensation) names the same facts of them: each project with its owner (a forest
farmer, a village collective …), place, credit kind, vintage and registry; the registry serials,
compressed into ranges of consecutive serials (`certificate_text.serial_ranges`), each with its retirement status
and the registry's reference of the retirement; and how many of them are retired.

The serials come as a certificate's claims or as a public record's serial rows (`credits_in`);
the projects' facts are read from the pool once for all, unless the caller gives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import GRAMS_PER_TONNE, Project
from models.database import read_session
from services.certificates.certificate_frame import Row, Section, format_grams
from services.certificates.certificate_text import serial_ranges
from services.registry.retired_tonnes import RegistryRetirement

OWNER_KINDS = {
    "forest_farmer": "林农 forest farmer",
    "village_collective": "村集体 village collective",
    "state_forest_farm": "国有林场 state forest farm",
    "company": "企业 company",
    "other": "",
}


@dataclass(frozen=True)
class ProjectFacts:
    """What the pool says of a project: its owner, place, credit kind and registry."""

    owner: str = ""
    place: str = ""
    credit: str = ""
    registry: str = ""


@dataclass(frozen=True)
class Credit:
    """One serial slice: the tonne's serial, its project, its grams, its retirement at the registry."""

    serial: str
    batch: Any
    project_code: str
    project_name: str
    kind: str
    vintage: Any
    grams: int
    from_g: int | None = None
    to_g: int | None = None
    owner: str = ""
    retired: bool = False
    registry_ref: str = ""
    retired_on: date | None = None


def _grams(claim: Mapping[str, Any]) -> int:
    if claim.get("grams") is not None:
        return int(claim["grams"])
    return int(claim["to_g"]) - int(claim["from_g"]) + 1


def from_claims(
    claims: Iterable[Mapping[str, Any]], retirements: Mapping[str, RegistryRetirement]
) -> list[Credit]:
    """A certificate's claims, with the registry's record of each retired serial."""
    credits = []
    for claim in claims:
        record = retirements.get(claim["serial"])
        credits.append(
            Credit(
                serial=claim["serial"],
                batch=claim.get("batch_id", claim.get("project_code", claim["project_name"])),
                project_code=claim.get("project_code", ""),
                project_name=claim["project_name"],
                kind=claim["kind"],
                vintage=claim["vintage"],
                grams=_grams(claim),
                from_g=claim.get("from_g"),
                to_g=claim.get("to_g"),
                owner=claim.get("owner") or "",
                retired=record is not None,
                registry_ref=record.registry_ref if record else "",
                retired_on=record.retired_on if record else None,
            )
        )
    return credits


def from_serials(serials: Iterable[Mapping[str, Any]]) -> list[Credit]:
    """A public record's serial rows (`event_disclosure.credits_in`), their retirement as recorded."""
    return [
        Credit(
            serial=serial["serial"],
            batch=serial.get("project_code", serial["project_name"]),
            project_code=serial.get("project_code", ""),
            project_name=serial["project_name"],
            kind=serial["kind"],
            vintage=serial["vintage"],
            grams=int(serial["grams"]),
            retired=serial.get("retirement") == "retired",
            registry_ref=serial.get("registry_ref") or "",
            retired_on=serial.get("retired_on"),
        )
        for serial in serials
    ]


def project_facts(credits: Iterable[Credit]) -> dict[str, ProjectFacts]:
    """The pool's facts of the projects the credits come from, by project code (one query)."""
    codes = sorted({credit.project_code for credit in credits if credit.project_code})
    if not codes:
        return {}
    projects = read_session().scalars(
        select(Project)
        .where(Project.code.in_(codes))
        .options(selectinload(Project.owner), selectinload(Project.kind))
    )
    facts = {}
    for project in projects:
        owner = project.owner
        kind = OWNER_KINDS.get(owner.kind.value, "") if owner else ""
        facts[project.code] = ProjectFacts(
            owner=f"{owner.name}（{kind}）" if owner and kind else (owner.name if owner else ""),
            place=project.location or project.county,
            credit=project.kind.name if project.kind else "",
            registry=project.registry_name or (project.kind.registry_name if project.kind else ""),
        )
    return facts


def project_section(credits: Iterable[Credit], facts: Mapping[str, ProjectFacts]) -> Section:
    """One row for each project, credit kind and vintage the credits draw on."""
    rows: dict[tuple[str, str, str], tuple[str, ...]] = {}
    for credit in credits:
        key = (credit.project_code or credit.project_name, credit.kind, str(credit.vintage))
        if key in rows:
            continue
        fact = facts.get(credit.project_code, ProjectFacts())
        credit_kind = f"{credit.kind} {fact.credit}".strip() if fact.credit != credit.kind else credit.kind
        rows[key] = (
            credit.project_name,
            fact.owner or credit.owner or "—",
            fact.place or "—",
            f"{credit_kind} · {credit.vintage} 年度 vintage",
            fact.registry or "—",
        )
    return Section(
        heading="项目 Projects",
        columns=(
            "项目 Project",
            "项目业主 Owner",
            "地点 Place",
            "碳信用 Credit · 年度 Vintage",
            "登记簿 Registry",
        ),
        widths=(0.26, 0.2, 0.17, 0.2, 0.17),
        rows=tuple(rows.values()),
        tail="… 另有 {n} 个项目 and {n} more projects",
        shrinkable=True,
    )


def _retirement(credit: Credit) -> str:
    if not credit.retired:
        return "待注销 pending"
    return f"已注销 retired {credit.retired_on:%Y-%m-%d}" if credit.retired_on else "已注销 retired"


def serial_section(credits: list[Credit], full_list_url: str) -> Section:
    """The serials as ranges of consecutive serials of one batch and one retirement, with their grams."""
    by_serial: dict[str, Credit] = {}
    slices: dict[str, list[Credit]] = {}
    for credit in credits:
        by_serial.setdefault(credit.serial, credit)
        slices.setdefault(credit.serial, []).append(credit)
    items = ((_group(credit), credit.serial, credit.grams) for credit in credits)
    rows = []
    for run in serial_ranges(items):
        first = by_serial[f"{run.prefix}{run.first}"]
        text = run.text
        pieces = slices.get(run.text, []) if run.count == 1 else []
        piece = pieces[0] if len(pieces) == 1 else None
        if piece and piece.from_g is not None and piece.to_g is not None and piece.grams < GRAMS_PER_TONNE:
            # Part of a tonne: which of its grams (the rest of the tonne is someone else's).
            text = f"{text}  g {piece.from_g:,}–{piece.to_g:,}"
        tonnes = f"{run.count:,} 个 serials · " if run.count > 1 else ""
        rows.append(
            (text, f"{tonnes}{format_grams(run.grams)}", _retirement(first), first.registry_ref or "—")
        )
    return Section(
        heading="登记序列号 Registry serials",
        columns=("序列号 Serials", "数量 Amount", "注销 Retirement", "注销凭证 Registry reference"),
        widths=(0.4, 0.2, 0.2, 0.2),
        rows=tuple(rows),
        tail=f"… 另有 {{n}} 段 and {{n}} more ranges — full list at {full_list_url}",
        shrinkable=True,
    )


def _group(credit: Credit) -> tuple[str, bool, str, str]:
    """Serials join a range only within one batch and one retirement record."""
    return (str(credit.batch), credit.retired, credit.registry_ref, str(credit.retired_on or ""))


def retirement_row(credits: list[Credit]) -> Row:
    """How many of the serials the registry has retired."""
    serials = {credit.serial: credit.retired for credit in credits}
    total, retired = len(serials), sum(serials.values())
    if total == 1:
        value = (
            "1 个登记序列号已注销 the serial is retired"
            if retired
            else "1 个登记序列号待注销 the serial is pending retirement"
        )
    elif total and retired == total:
        value = f"{total:,} 个登记序列号已全部注销 all {total:,} serials retired"
    elif not retired:
        value = f"{total:,} 个登记序列号待注销 {total:,} serials pending retirement"
    else:
        value = f"{total:,} 个登记序列号已注销 {retired:,} 个 {retired:,} of {total:,} serials retired"
    return Row(
        "登记注销 Retirement",
        value,
        "每个序列号的注销状态以核验页面为准 the verification page shows the live status",
    )
