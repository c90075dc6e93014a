"""Previews of the certificate PDFs for the docs: page 1 of each kind as a small PNG.

`python -m tools.certificate_previews` sets a personal certificate, a one-tap footprint offset, an
event's neutralisation, an ecological-justice claim and a tree adoption from sample records through
the very documents and frame the service prints (`services/certificates/`); no database is needed,
the projects' facts and the registry retirements are given. Page 1 of each is rasterised by
`pdftoppm` (Debian's `poppler-utils`) at 60 dpi into `docs/images/certificates/<kind>.png`, as a
256-colour palette PNG, each well under 150 KB. `--pdf` keeps the PDFs beside them.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from PIL import Image

from config import certificate_font_path
from models import Certificate, CertificateStatus, Channel
from services.certificates import pdf_font
from services.certificates.adoption_certificate_pdf import adoption_document
from services.certificates.certificate_credits import ProjectFacts
from services.certificates.certificate_frame import CertificateDocument, render
from services.certificates.certificate_pdf import certificate_document
from services.certificates.claim_certificate_pdf import claim_document
from services.certificates.event_certificate_pdf import event_document
from services.registry.retired_tonnes import RegistryRetirement

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images" / "certificates"
BASE_URL = "https://carbon.example.cn"
CODE = "K7M2Q9W4X8T3R6P5N2V4"
MOST_BYTES = 150_000
TONNE = 1_000_000

PROJECTS = {
    "FJ-SX-001": ProjectFacts(
        owner="洋坑村股份经济合作社（村集体 village collective）",
        place="福建省三明市沙县区",
        credit="福建林业碳汇",
        registry="海峡资源环境交易中心",
    ),
    "FJ-ML-002": ProjectFacts(
        owner="林农陈某（林农 forest farmer）",
        place="福建省三明市明溪县",
        credit="福建林业碳汇",
        registry="海峡资源环境交易中心",
    ),
}


def _claim(project: str, name: str, number: int, grams: int, start: int = 0) -> dict:
    return {
        "project_code": project,
        "project_name": name,
        "kind": "FFCER",
        "vintage": 2023,
        "batch_id": project,
        "serial": f"FFCER-2023-{number:07d}",
        "from_g": start,
        "to_g": start + grams - 1,
        "grams": grams,
    }


def _certificate(status: CertificateStatus = CertificateStatus.VALID) -> Certificate:
    claims = [_claim("FJ-SX-001", "沙县洋坑村林业碳汇", n, TONNE) for n in range(1201, 1213)]
    claims.append(_claim("FJ-ML-002", "明溪县生态公益林碳汇", 3301, 400_000, 200_000))
    return Certificate(
        number="CI2026H4K8M2Q7WX",
        verification_code=CODE,
        holder_name="张三丰",
        grams=sum(claim["grams"] for claim in claims),
        status=status,
        claims=claims,
        issued_at=datetime(2026, 5, 1, 2, 0),
    )


RETIRED = {
    f"FFCER-2023-{n:07d}": RegistryRetirement(1, "FJ-ZX-2026-0042", "", date(2026, 5, 20))
    for n in range(1201, 1209)
}


def personal() -> CertificateDocument:
    return certificate_document(
        _certificate(), BASE_URL, channel=Channel.CREDITS, retirements=RETIRED, projects=PROJECTS
    )


def offset() -> CertificateDocument:
    certificate = _certificate()
    certificate.claims = [_claim("FJ-SX-001", "沙县洋坑村林业碳汇", 1301, 58_000, 412_000)]
    certificate.grams, certificate.holder_name = 58_000, "陈小林"
    return certificate_document(
        certificate, BASE_URL, channel=Channel.FOOTPRINT_OFFSET, retirements={}, projects=PROJECTS
    )


def _source(kind: str, description: str, activity: int, unit: str, factor: str, grams: int) -> dict:
    return {
        "kind": kind,
        "description": description,
        "activity": activity,
        "activity_unit": unit,
        "factor_kg_per_unit": factor,
        "factor_source": "全国碳排放因子库 national factor library",
        "factor_set_version": 3,
        "grams": grams,
    }


def event() -> CertificateDocument:
    sources = [
        _source(
            "venue_electricity", "主会场及展馆 Main hall and exhibition", 182_000, "kWh", "0.5306", 96_569_200
        ),
        _source("travel", "参会人员往返交通 Attendees' return trips", 1_260_000, "pkm", "0.0409", 51_534_000),
        _source("accommodation", "酒店住宿 Hotel nights", 3_400, "间夜 room-night", "14.8", 50_320_000),
        _source("catering", "餐饮 Meals", 21_000, "份 meal", "2.1", 44_100_000),
        _source("materials", "搭建物料 Stands and printed matter", 18_500, "kg", "1.9", 35_150_000),
        _source("waste", "废弃物 Waste to landfill", 9_200, "kg", "0.5", 4_600_000),
    ]
    actual = sum(source["grams"] for source in sources)
    serials = [
        {
            "serial": f"FFCER-2023-{n:07d}",
            "project_code": "FJ-SX-001" if n < 2500 else "FJ-ML-002",
            "project_name": "沙县洋坑村林业碳汇" if n < 2500 else "明溪县生态公益林碳汇",
            "kind": "FFCER",
            "vintage": 2023,
            "grams": TONNE,
            "retirement": "retired" if n < 2400 else "pending",
            "registry_ref": "FJ-ZX-2026-0057" if n < 2400 else None,
            "retired_on": date(2026, 7, 2) if n < 2400 else None,
        }
        for n in [*range(2201, 2400), *range(2460, 2530), *range(2601, 2615)]
    ]
    disclosure = {
        "code": CODE,
        "name": "2026 海峡两岸经贸交易会 Cross-Strait Fair",
        "organisation": "福建省会展中心",
        "start_date": date(2026, 6, 18),
        "end_date": date(2026, 6, 21),
        "venue_city": "福州",
        "neutral": True,
        "offset_deadline": date(2026, 12, 31),
        "estimate": {
            "total_grams": 300_000_000,
            "sources": [s | {"grams": s["grams"] * 11 // 10} for s in sources],
        },
        "actual": {"total_grams": actual, "sources": sources},
        "offset": {
            "credits": {
                "grams": len(serials) * TONNE,
                "certificate_number": "CI2026T7N3K9P2RM",
                "verification_code": "Q4W8E2R6T9Y3U7I5O2P8",
                "serials": serials,
            }
        },
    }
    return event_document(disclosure, f"{BASE_URL}/events/{CODE}/disclosure", projects=PROJECTS)


def claim() -> CertificateDocument:
    record = {
        "code": CODE,
        "kind": "ecological_justice",
        "organisation": "顺昌县人民法院",
        "grams_required": 12 * TONNE,
        "certificate_title": "生态司法碳汇替代修复证明",
        "certificate_statement": (
            "(2026)闽0721刑初99号案件被告人李*光自愿认购并注销林业碳汇 12 吨，用于替代修复其行为"
            "造成的森林生态损害，由顺昌县人民法院监督履行。"
        ),
        "order_status": "fulfilled",
        "credits": {
            "grams": 12 * TONNE,
            "certificate_number": "CI2026P3M8W2K7QX",
            "verification_code": "H2J8K4L6M9N3P7Q5R2S8",
            "serials": [
                {
                    "serial": f"FFCER-2023-{n:07d}",
                    "project_code": "FJ-SX-001",
                    "project_name": "沙县洋坑村林业碳汇",
                    "kind": "FFCER",
                    "vintage": 2023,
                    "grams": TONNE,
                    "retirement": "retired",
                    "registry_ref": "FJ-ZX-2026-0061",
                    "retired_on": date(2026, 8, 3),
                }
                for n in range(3001, 3013)
            ],
        },
    }
    return claim_document(record, f"{BASE_URL}/claims/{CODE}", projects=PROJECTS)


def adoption() -> CertificateDocument:
    record = {
        "code": CODE,
        "valid": True,
        "certificate_number": "AD2026M4K8Q2W7XT",
        "holder": "张三丰",
        "forest_name": "广德碳汇林纪念基地",
        "place": "安徽省广德市",
        "owner": "誓节镇村集体",
        "plot_code": "A-01",
        "area_m2": 6_670,
        "species": ["侧柏", "油松"],
        "trees": 3,
        "whole_plot": False,
        "activated_on": date(2026, 3, 12),
        "plantings": [
            {"planted_on": date(2026, 3, 12), "species": "侧柏", "trees": 2, "survival_rate": 100},
            {"planted_on": date(2026, 3, 12), "species": "油松", "trees": 1, "survival_rate": None},
        ],
        "statement": "认养树木的预期碳汇不作为碳信用出售，也不计入任何人的碳抵消。",
    }
    return adoption_document(record, f"{BASE_URL}/adoptions/{CODE}")


KINDS: dict[str, Callable[[], CertificateDocument]] = {
    "personal": personal,
    "offset": offset,
    "event": event,
    "claim": claim,
    "adoption": adoption,
}


def first_page_png(pdf: bytes, dpi: int) -> bytes:
    """Page 1 of `pdf` as a palette PNG, rasterised by pdftoppm."""
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "certificate.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                str(dpi),
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                source,
                Path(work) / "page",
            ],
            check=True,
        )
        with Image.open(Path(work) / "page.png") as page:
            buffer = io.BytesIO()
            page.convert("RGB").quantize(256).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="directory of the PNGs")
    parser.add_argument("--dpi", type=int, default=60)
    parser.add_argument("--pdf", action="store_true", help="keep each PDF beside its PNG")
    args = parser.parse_args(argv)
    if shutil.which("pdftoppm") is None:
        print("pdftoppm is missing: install Debian's poppler-utils", file=sys.stderr)
        return 1
    pdf_font.configure(certificate_font_path(""))
    args.out.mkdir(parents=True, exist_ok=True)
    for kind, document in KINDS.items():
        pdf = render(document())
        png = first_page_png(pdf, args.dpi)
        if len(png) > MOST_BYTES:
            print(f"{kind}: {len(png):,} bytes, more than {MOST_BYTES:,}", file=sys.stderr)
            return 1
        (args.out / f"{kind}.png").write_bytes(png)
        if args.pdf:
            (args.out / f"{kind}.pdf").write_bytes(pdf)
        print(f"{kind}.png: {len(png):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
