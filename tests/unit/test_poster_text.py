"""The poster's words: the cited equivalent factor, text wrapped inside its width, nothing cut."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import certificate_font_path
from services.certificates import equivalents, pdf_font, poster_drawing
from services.certificates.poster_drawing import Fact, Poster, wrap
from services.certificates.share_code import ShareCode, qr_png

FACTORS = Path(__file__).resolve().parents[2] / "data" / "factors" / "electricity.csv"


@pytest.fixture(autouse=True)
def font():
    path = certificate_font_path("")
    if not path:
        pytest.fail("no CJK TrueType font installed: run bin/setup (fonts-wqy-microhei)")
    pdf_font.configure(path)
    return poster_drawing._font(24)


def test_the_equivalent_factor_is_the_cited_row_of_the_factor_library():
    with FACTORS.open(encoding="utf-8") as rows:
        row = next(r for r in csv.DictReader(rows) if r["key"] == equivalents.GRID_FACTOR_KEY)

    assert Decimal(row["value"]) == equivalents.GRID_KG_PER_KWH
    assert (row["unit"], int(row["year"])) == ("kgCO2/kWh", equivalents.GRID_FACTOR_YEAR)
    assert "Ministry of Ecology and Environment" in row["source"]


@pytest.mark.parametrize(
    ("grams", "figure"),
    [(10_000, "18.8"), (1_000, "1.88"), (1_000_000, "1,885"), (8_055_255, "15,181")],
)
def test_the_equivalent_reads_as_kilowatt_hours(grams, figure):
    # 10 kg / 0.5306 kg per kWh = 18.846… kWh; 1 t → 1,884.66 kWh; 8,055.255 kg → 15,181.4 kWh
    equivalent = equivalents.grid_electricity(grams)

    assert equivalent.text == f"相当于全国电网 {figure} 度电的碳排放"
    assert "0.5306" in equivalent.source and "2023" in equivalent.source


def _check(text: str, lines: list[str], width: float, font, marks: bool = True) -> None:
    assert all(font.getlength(line) <= width for line in lines), lines
    assert "".join(lines).replace(" ", "") == text.replace("\n", "").replace(" ", "")  # nothing lost
    if marks:  # (a run of closing marks wider than the line has to break somewhere)
        assert not [line for line in lines[1:] if line and line[0] in "，。、；：？！）"]


@pytest.mark.parametrize(
    "text",
    [
        "依顺昌县人民法院（(2026)闽0721刑初99号）判决，被告李*以认购并注销林业碳汇的方式替代性修复生态环境，"
        "所需 1 吨二氧化碳当量。",
        "顺昌县国有林场·一元碳汇林业碳汇项目、将乐县常口村集体林碳汇项目 等 5 个项目",
        "https://carbon.example.cn/verify/7KQ2M9XH4PTR8WNC3DFA",
        "Attendee travel by flight and by conventional rail, intercity coach and private car",
    ],
)
def test_text_wraps_inside_its_width_and_keeps_every_character(text, font):
    width = 300

    lines = wrap(text, font, width)

    assert len(lines) > 1
    _check(text, lines, width, font)


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("碳汇林业证书项目，。、（）ABCxyz0123 ·-/")), min_size=1, max_size=120
    ),
    st.integers(min_value=60, max_value=600),
)
def test_any_text_wraps_inside_any_width(text, width):
    font = poster_drawing._font(24)

    _check(
        text,
        wrap(text, font, width),
        width,
        font,
        marks=width >= 120 and not re.search("[，。、（）]{3}", text),
    )


def _poster(statement: str, facts: int) -> Poster:
    url = "http://127.0.0.1:5000/verify/7KQ2M9XH4PTR8WNC3DFA"
    return Poster(
        kicker="碳普惠 · 生态司法",
        title="生态司法碳汇替代修复证明",
        subtitle="Certificate of Forestry Carbon Credits",
        holder_label="单位",
        holder="顺昌县人民法院",
        amount="1",
        amount_unit="吨 CO2e",
        amount_label="认购并注销的林业碳汇",
        equivalent="相当于全国电网 1,885 度电的碳排放",
        equivalent_source="按生态环境部、国家统计局 2023 年全国电网平均排放因子 0.5306 kgCO2/kWh折算",
        statement=statement,
        facts=tuple(Fact(f"事项{i}", "顺昌县国有林场·一元碳汇林业碳汇项目 " * 2) for i in range(facts)),
        stamp="",
        code_title="扫码核验证明",
        code_hint=url,
        share=ShareCode(qr_png(url), "qr", "claim", "7KQ2M9XH4PTR8WNC3DFA", url),
    )


def test_a_long_poster_is_drawn_smaller_rather_than_cut():
    short, long = _poster("", 3), _poster("依法判决，被告以认购并注销林业碳汇的方式修复生态环境。" * 8, 9)
    limit = poster_drawing.CARD_BOTTOM - poster_drawing.PAD - poster_drawing.CODE_PX - 24

    assert poster_drawing.fitting_scale(short) > poster_drawing.fitting_scale(long)
    assert poster_drawing._body(None, long, 1.0) > limit  # at full size it would run into the code
    assert poster_drawing._body(None, long, poster_drawing.fitting_scale(long)) <= limit


def test_the_etag_follows_every_word_and_the_code():
    poster = _poster("", 3)
    url = "http://127.0.0.1:5000/verify/OTHER"

    assert poster.etag == _poster("", 3).etag
    assert poster.etag != _poster("。", 3).etag
    assert poster.etag != Poster(**{**poster.__dict__, "holder": "别*位"}).etag
    assert (
        poster.etag
        != Poster(**{**poster.__dict__, "share": ShareCode(qr_png(url), "qr", "claim", "X", url)}).etag
    )
