"""The certificate frame: a 5,000 t event on two pages, the frame and code on each, labels never cut,
the issuer's seal, and the production refusal of a seal that cannot be read."""

from __future__ import annotations

import logging
import re

import pytest
from PIL import Image

from config import ConfigurationError, certificate_font_path, load_settings
from services.certificates import certificate_frame, pdf_font
from services.certificates.event_certificate_pdf import SOURCE_LABELS, render_event_pdf
from tests.support.pdfs import flat, image_count, page_codes, page_texts
from tests.support.settings import PRODUCTION_ENV

URL = "https://carbon.example.cn/events/ABCDEFGHJKMNPQRSTUVW/disclosure"
TONNE = 1_000_000
# Labels that reportlab's own CJK wrap cuts mid-word in their cells.
LONG_DESCRIPTION = "Main exhibition hall lighting, air-conditioning and escalators 主会场照明空调与扶梯"


@pytest.fixture(autouse=True)
def installed_font():
    pdf_font.configure(certificate_font_path(""))
    yield
    certificate_frame.configure(certificate_frame.DEFAULT_ISSUER_NAME, "")


def _source(index: int, grams: int) -> dict:
    kinds = list(SOURCE_LABELS)
    return {
        "kind": kinds[index % len(kinds)],
        "description": f"{LONG_DESCRIPTION} No.{index}",
        "activity": 1_000 + index,
        "activity_unit": "kWh",
        "factor_kg_per_unit": "0.5306",
        "factor_source": "生态环境部、国家统计局 2023 年全国电网平均排放因子",
        "factor_set_version": 3,
        "grams": grams,
    }


def _serials(count: int, every: int = 3) -> list[dict]:
    """`count` one-tonne slices of three projects, every `every`-th serial missing (so: many ranges)."""
    serials, number = [], 1
    while len(serials) < count:
        if number % every:
            project = min(number // 3_000, 2)  # projects and retirements change at a missing number
            serials.append(
                {
                    "serial": f"FFCER-202{project}-{number:07d}",
                    "project_name": f"福建·三明林业碳汇 {project}",
                    "kind": "FFCER",
                    "vintage": 2020 + project,
                    "grams": TONNE,
                    "retirement": "retired" if number < 999 else "pending",
                    "registry_ref": "FJ-ZX-2026-0042" if number < 999 else None,
                }
            )
        number += 1
    return serials


def big_event(tonnes: int = 5_000, sources: int = 60) -> dict:
    grams = tonnes * TONNE
    rows = [_source(i, grams // sources) for i in range(sources)]
    return {
        "code": "ABCDEFGHJKMNPQRSTUVW",
        "name": "2026 海峡两岸经贸交易会 Cross-Strait Fair",
        "organisation": "福建省会展中心",
        "start_date": "2026-06-01",
        "end_date": "2026-06-05",
        "venue_city": "厦门",
        "neutral": True,
        "offset_deadline": "2026-12-31",
        "estimate": {"total_grams": grams, "sources": rows},
        "actual": {"total_grams": grams, "sources": rows},
        "offset": {
            "credits": {
                "grams": grams,
                "certificate_number": "CI2026ABCDEFGHJK",
                "verification_code": "ABCDEFGHJKMNPQRSTUVW",
                "serials": _serials(tonnes),
            }
        },
    }


def test_a_5000_t_event_with_thousands_of_serial_slices_fits_on_two_pages():
    pdf = render_event_pdf(big_event(), URL)

    texts = page_texts(pdf)
    assert len(texts) <= 2
    text = flat("\n".join(texts))
    tails = re.findall(r"and (\d+) more ranges — full list at (\S+)", text)
    assert [url for _, url in tails] == [URL]
    shown = re.findall(r"FFCER-202\d-\d{7}(?:–\d{7})?", text)
    # 5,000 slices of which every third number is missing: 2,500 ranges (each run of two numbers).
    assert len(shown) + int(tails[0][0]) == 2_500
    assert "FFCER-2020-0000001–0000002" in text  # consecutive serials compressed into one range
    assert re.search(r"and \d+ more sources — full list at " + re.escape(URL), text)
    assert "5,000.000 t CO2e" in text
    assert "已注销 retired" in text and "FJ-ZX-2026-0042" in text


def test_the_frame_and_the_code_are_on_every_page():
    pdf = render_event_pdf(big_event(), URL)

    texts = page_texts(pdf)
    assert len(texts) == 2
    for number, text in enumerate(texts, start=1):
        assert "签发机构 Issuer" in text and "碳普惠" in text and f"第 {number} 页 Page {number}" in text
        assert URL in text
    assert page_codes(pdf) == [[URL], [URL]]
    assert "续 continued" in texts[1]


def test_labels_and_descriptions_wrap_without_cutting_a_word():
    pdf = render_event_pdf(big_event(tonnes=20, sources=4), URL)

    text = "\n".join(page_texts(pdf))
    words = set(re.findall(r"[A-Za-z][A-Za-z\-]+", text))
    for label in (
        LONG_DESCRIPTION,
        "Actual emissions by source",
        "Activity × factor",
        "Factor source",
        "Registry reference",
        "Neutralise by",
        "Retirement",
        "Cross-Strait Fair",
    ):
        for word in re.findall(r"[A-Za-z][A-Za-z\-]+", label):
            assert word in words, (label, word)
    # Each factor is printed with its unit, and the activity data with theirs.
    assert "1,000 kWh × 0.5306 kg CO2e/kWh" in flat(text)


def test_a_void_certificate_is_marked_on_every_page():
    event = big_event()
    event["neutral"] = False

    texts = page_texts(render_event_pdf(event, URL))

    assert len(texts) == 2 and all("尚未完成中和 NOT YET NEUTRAL" in text for text in texts)


def _png(path) -> str:
    Image.new("RGB", (120, 120), (198, 40, 40)).save(path, format="PNG")
    return str(path)


def test_the_issuer_and_its_seal_are_printed(tmp_path):
    certificate_frame.configure("福建省碳普惠运营中心", _png(tmp_path / "seal.png"))

    pdf = render_event_pdf(big_event(tonnes=2, sources=2), URL)

    texts = page_texts(pdf)
    assert all("福建省碳普惠运营中心" in text for text in texts)
    assert image_count(pdf) == 2  # the code and the seal
    assert {code for codes in page_codes(pdf) for code in codes} == {URL}


def test_a_seal_that_cannot_be_read_is_a_warning_and_no_seal_outside_production(tmp_path, caplog):
    missing = tmp_path / "no-seal.png"
    not_an_image = tmp_path / "seal.png"
    not_an_image.write_bytes(b"not an image")
    for path in (missing, not_an_image):
        with caplog.at_level(logging.WARNING):
            certificate_frame.configure("碳普惠", str(path))
        assert "CERTIFICATE_SEAL_PATH" in caplog.text

        pdf = render_event_pdf(big_event(tonnes=2, sources=2), URL)

        assert image_count(pdf) == 1  # the code only
        caplog.clear()
    assert load_settings("default", environ={"CERTIFICATE_SEAL_PATH": str(missing)})


def test_production_refuses_to_start_with_a_seal_it_cannot_read(tmp_path):
    missing = str(tmp_path / "no-seal.png")
    with pytest.raises(
        ConfigurationError, match=f"CERTIFICATE_SEAL_PATH={missing!r} is not a readable image"
    ):
        load_settings("production", environ=PRODUCTION_ENV | {"CERTIFICATE_SEAL_PATH": missing})
    text = tmp_path / "seal.png"
    text.write_text("not an image")
    with pytest.raises(ConfigurationError, match="is not a PNG or JPEG image"):
        load_settings("production", environ=PRODUCTION_ENV | {"CERTIFICATE_SEAL_PATH": str(text)})
    seal = _png(tmp_path / "real-seal.png")
    settings = load_settings("production", environ=PRODUCTION_ENV | {"CERTIFICATE_SEAL_PATH": seal})
    assert settings["CERTIFICATE_SEAL_PATH"] == seal
    assert load_settings("production", environ=PRODUCTION_ENV)["CERTIFICATE_ISSUER_NAME"] == "碳普惠"


def test_a_5000_t_certificate_stays_small_enough_to_send():
    pdf = render_event_pdf(big_event(), URL)
    assert pdf.startswith(b"%PDF") and len(pdf) < 400_000  # a font subset and one image
