"""Certificate PDFs carry their font: every font embedded, the Chinese text extracts as written.

A font that is only named (reportlab's built-in CID fonts) shows empty boxes in a viewer without a
Chinese font pack; an embedded TrueType subset reads the same everywhere.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from config import CERTIFICATE_FONT_CANDIDATES, bind_base_url, certificate_font_path, load_settings
from models import Certificate, CertificateStatus, Channel
from services.certificates import pdf_font
from services.certificates.adoption_certificate_pdf import render_adoption_pdf
from services.certificates.certificate_frame import render
from services.certificates.certificate_pdf import certificate_document, render_pdf
from services.certificates.claim_certificate_pdf import render_claim_pdf
from services.certificates.event_certificate_pdf import render_event_pdf
from tests.support.settings import PRODUCTION_ENV

ROOT = Path(__file__).resolve().parents[2]
HOLDER = "阿依古丽·买买提"
PROJECT = "福建·三明林业碳汇"


def _serial(grams: int) -> dict:
    return {
        "project_name": PROJECT,
        "kind": "FFCER",
        "vintage": 2024,
        "serial": "FJ-2024-0001",
        "grams": grams,
        "retirement": "pending",
    }


def _certificate() -> Certificate:
    return Certificate(
        number="CI2026ABCDEFGHJK",
        verification_code="ABCDEFGHJKMNPQRSTUVW",
        holder_name=HOLDER,
        grams=20_000,
        status=CertificateStatus.VALID,
        claims=[
            {
                "project_name": PROJECT,
                "kind": "FFCER",
                "vintage": 2024,
                "serial": "FJ-2024-0001",
                "from_g": 0,
                "to_g": 19_999,
            }
        ],
        issued_at=datetime(2026, 5, 1, 8, 0),
    )


def _personal() -> bytes:
    return render_pdf(_certificate(), "https://carbon.example.cn")


def _offset() -> bytes:
    certificate = _certificate()
    certificate.status = CertificateStatus.VOID
    document = certificate_document(
        certificate, "https://carbon.example.cn", channel=Channel.FOOTPRINT_OFFSET
    )
    return render(document)


def _event() -> bytes:
    source = {
        "kind": "venue_electricity",
        "description": "主会场·展馆",
        "activity": 1_000,
        "activity_unit": "kWh",
        "factor_kg_per_unit": "0.5",
        "grams": 500_000,
        "factor_set_version": 3,
    }
    disclosure = {
        "name": "海峡论坛·2026",
        "organisation": "厦门市生态环境局",
        "start_date": "2026-06-01",
        "end_date": "2026-06-02",
        "venue_city": "厦门",
        "neutral": True,
        "offset_deadline": "2026-12-31",
        "estimate": {"total_grams": 600_000, "sources": [source | {"grams": 600_000}]},
        "actual": {"total_grams": 500_000, "sources": [source]},
        "offset": {
            "credits": {
                "grams": 500_000,
                "certificate_number": "CI2026ABCDEFGHJK",
                "verification_code": "ABCDEFGHJKMNPQRSTUVW",
                "serials": [_serial(500_000)],
            }
        },
    }
    return render_event_pdf(disclosure, "https://carbon.example.cn/events/ABC/disclosure")


def _claim() -> bytes:
    claim = {
        "certificate_title": "生态修复·碳汇认购证明",
        "organisation": "明溪县人民法院",
        "grams_required": 1_500_000,
        "certificate_statement": f"被告人{HOLDER}认购林业碳汇 1.5 吨",
        "order_status": "fulfilled",
        "credits": {
            "certificate_number": "CI2026ABCDEFGHJK",
            "verification_code": "ABCDEFGHJKMNPQRSTUVW",
            "serials": [_serial(1_500_000)],
        },
    }
    return render_claim_pdf(claim, "https://carbon.example.cn/api/v1/public/institutional-claims/ABC")


def _adoption() -> bytes:
    record = {
        "code": "ABCDEFGHJKMNPQRSTUVW",
        "valid": True,
        "certificate_number": "AD2026ABCDEFGHJK",
        "holder": HOLDER,
        "forest_name": "三明·青年林",
        "place": "福建省三明市",
        "owner": "列东村村民委员会",
        "plot_code": "P-07",
        "area_m2": 1_200,
        "species": ["杉木", "木荷"],
        "trees": 20,
        "whole_plot": False,
        "activated_on": date(2026, 5, 1),
        "plantings": [{"planted_on": date(2026, 3, 12), "species": "杉木", "trees": 20, "survival_rate": 95}],
        "statement": "认养树木的预计碳汇不是碳信用，不计为抵消。",
    }
    return render_adoption_pdf(record, "https://carbon.example.cn/adoptions/ABCDEFGHJKMNPQRSTUVW")


RENDERERS = {
    "personal": _personal,
    "offset": _offset,
    "event": _event,
    "claim": _claim,
    "adoption": _adoption,
}
# Each label is a table cell and its value the next: the text extracts label, line break, value.
TEXTS = {
    "personal": ("碳汇认购证书", f"持有人 Holder\n{HOLDER}", PROJECT, "FJ-2024-0001 g 0–19,999"),
    "offset": (
        "碳足迹抵消证书",
        "已作废 VOID",
        "抵消量 Offset\n20.0 kg CO2e",
        "相当于全国电网 37.7 度电的碳排放",
    ),
    "event": (
        "大型活动碳中和证书",
        "主办 Organiser\n厦门市生态环境局",
        "场馆用电 主会场·展馆",
        "1,000 kWh × 0.5 kg CO2e/kWh",
        PROJECT,
    ),
    "claim": ("生态修复·碳汇认购证明", "单位 Organisation\n明溪县人民法院", f"被告人{HOLDER}", PROJECT),
    "adoption": (
        "认建认养证书",
        f"认养人 Adopter\n{HOLDER}",
        "三明·青年林（福建省三明市）",
        "列东村村民委员会",
    ),
}


@pytest.fixture(autouse=True)
def installed_font():
    path = certificate_font_path("")
    assert path, f"no certificate font installed (bin/setup installs one of {CERTIFICATE_FONT_CANDIDATES})"
    pdf_font.configure(path)
    yield path
    pdf_font.configure(path)


def _resolved(value) -> dict:
    return value.get_object() if value is not None else {}


def _fonts_of(resources) -> list[DictionaryObject]:
    """The fonts of a resource dictionary, and of the form XObjects it draws (their own resources)."""
    resources = _resolved(resources)
    fonts = [font.get_object() for font in _resolved(resources.get("/Font")).values()]
    for xobject in _resolved(resources.get("/XObject")).values():
        fonts += _fonts_of(xobject.get_object().get("/Resources"))
    return fonts


def _fonts(pdf: bytes) -> list[DictionaryObject]:
    return [font for page in PdfReader(io.BytesIO(pdf)).pages for font in _fonts_of(page.get("/Resources"))]


def _embedded(font: DictionaryObject) -> bool:
    descriptors = [font.get("/FontDescriptor")]
    descriptors += [d.get_object().get("/FontDescriptor") for d in font.get("/DescendantFonts", [])]
    return any(
        d is not None and any(key in d.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3"))
        for d in descriptors
    )


@pytest.mark.parametrize("kind", sorted(RENDERERS))
def test_every_font_of_each_certificate_is_embedded(kind):
    fonts = _fonts(RENDERERS[kind]())
    assert fonts, kind
    for font in fonts:
        assert _embedded(font), f"{kind}: {font.get('/BaseFont')} is named, not embedded"


@pytest.mark.parametrize("kind", sorted(RENDERERS))
def test_chinese_text_and_middle_dot_extract_as_written(kind):
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(RENDERERS[kind]())).pages)
    assert "\ufffd" not in text
    for expected in TEXTS[kind]:
        assert expected in text, (kind, expected)


@pytest.mark.parametrize("kind", sorted(RENDERERS))
def test_a_missing_font_is_a_clear_error_not_a_page_of_boxes(kind, tmp_path):
    pdf_font.configure("")
    with pytest.raises(pdf_font.CertificateFontMissing, match="fonts-wqy-microhei"):
        RENDERERS[kind]()
    pdf_font.configure(str(tmp_path / "no-such-font.ttc"))
    with pytest.raises(pdf_font.CertificateFontMissing, match="CERTIFICATE_FONT_PATH"):
        RENDERERS[kind]()
    not_a_font = tmp_path / "not-a-font.ttf"
    not_a_font.write_bytes(b"not a font")
    pdf_font.configure(str(not_a_font))
    with pytest.raises(pdf_font.CertificateFontMissing, match="TrueType"):
        RENDERERS[kind]()


def test_no_certificate_draws_in_a_font_it_does_not_embed():
    for path in (ROOT / "services").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "STSong" not in text and "UnicodeCIDFont" not in text, path.name


def test_production_refuses_to_start_without_the_font(tmp_path):
    from config import ConfigurationError

    missing = str(tmp_path / "no-such-font.ttc")
    with pytest.raises(ConfigurationError, match=f"CERTIFICATE_FONT_PATH={missing!r} is not a readable font"):
        load_settings("production", environ=PRODUCTION_ENV | {"CERTIFICATE_FONT_PATH": missing})
    assert load_settings("production", environ=PRODUCTION_ENV)[
        "CERTIFICATE_FONT_PATH"
    ] == certificate_font_path("")


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1:5077", "http://127.0.0.1:5077"),
        ("0.0.0.0:8080", "http://127.0.0.1:8080"),
        ("[::]:5077", "http://[::1]:5077"),
        ("localhost:5000", "http://localhost:5000"),
        ("unix:/run/carbon.sock", None),
        ("5077", None),
        ("", None),
    ],
)
def test_the_listen_address_gives_the_base_url(bind, url):
    assert bind_base_url(bind) == url


def test_the_embedded_default_links_to_where_bin_serve_listens():
    assert (
        load_settings("default", environ={"BIND": "127.0.0.1:5077"})["PUBLIC_BASE_URL"]
        == "http://127.0.0.1:5077"
    )
    assert load_settings("default", environ={})["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    explicit = {"BIND": "127.0.0.1:5077", "PUBLIC_BASE_URL": "http://carbon.test:8000"}
    assert load_settings("default", environ=explicit)["PUBLIC_BASE_URL"] == "http://carbon.test:8000"
    # Production never guesses: an explicit public https URL is required.
    production = {k: v for k, v in PRODUCTION_ENV.items() if k != "PUBLIC_BASE_URL"}
    from config import ConfigurationError

    with pytest.raises(ConfigurationError, match="PUBLIC_BASE_URL"):
        load_settings("production", environ=production | {"BIND": "0.0.0.0:443"})
