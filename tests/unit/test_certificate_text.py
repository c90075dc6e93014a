"""Certificate line breaking: Chinese between any two characters, a Latin word never cut."""

from __future__ import annotations

import re

import pytest

from services.certificates.certificate_text import break_lines


def measure(text: str) -> float:
    """Ten points a Chinese character or full-width mark, five anything else."""
    return sum(10 if ord(c) >= 0x3000 else 5 for c in text)


def test_a_latin_word_is_never_cut_where_reportlab_would_cut_it():
    # reportlab's CJK wrap cuts "Retirement" here (its start lies in the first half of the line).
    assert break_lines("登记注销 Retirement", 80, measure) == ["登记注销", "Retirement"]


@pytest.mark.parametrize("width", range(50, 200, 5))
def test_every_word_of_a_bilingual_label_stays_whole(width):
    text = "中和期限 Neutralise by 排放因子库 Factor sets 注销凭证 Registry reference"
    lines = break_lines(text, width, measure)
    words = [word for line in lines for word in re.findall(r"[A-Za-z]+", line)]
    assert words == re.findall(r"[A-Za-z]+", text)  # each Latin word whole on one line
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(measure(line) <= width for line in lines)


def test_chinese_breaks_between_any_two_characters():
    assert break_lines("相当于全国电网度电的碳排放", 40, measure) == [
        "相当于全",
        "国电网度",
        "电的碳排",
        "放",
    ]


def test_a_closing_mark_never_starts_a_line_nor_an_opening_one_ends_one():
    lines = break_lines("甲乙丙，丁（戊己）", 30, measure)
    assert not any(line[0] in "，）" for line in lines)
    assert not any(line[-1] in "（" for line in lines[:-1])
    assert "".join(lines) == "甲乙丙，丁（戊己）"


def test_a_word_wider_than_the_line_is_cut_after_a_slash():
    url = "https://carbon.example.cn/events/ABCDEFGHJKMNPQRSTUVW/disclosure"
    lines = break_lines(url, 150, measure)
    assert "".join(lines) == url
    assert lines[0].endswith("/") and all(measure(line) <= 150 for line in lines)


def test_spaces_collapse_and_an_empty_text_is_one_empty_line():
    assert break_lines("FJ-2024-0001  g 0–19,999", 500, measure) == ["FJ-2024-0001 g 0–19,999"]
    assert break_lines("", 100, measure) == [""]
