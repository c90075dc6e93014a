"""Reading certificate PDFs back: the text of each page, and the codes a QR decoder finds on each page."""

from __future__ import annotations

import io
import re

import zxingcpp
from pypdf import PdfReader


def page_texts(pdf: bytes) -> list[str]:
    """The extracted text of every page."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _join(match: re.Match[str]) -> str:
    before, after = match.group(1), match.group(2)
    # A line broken between two Chinese characters (or Chinese marks) was one run of text.
    return before + after if ord(before) >= 0x3000 and ord(after) >= 0x3000 else f"{before} {after}"


def flat(text: str) -> str:
    """The text as one line: a line break between Chinese characters gone, any other whitespace one
    space (so a label and its value, in two cells, read `label value`)."""
    text = re.sub(r"(\S)[ \t]*\n\s*(\S)", _join, text.strip())
    return " ".join(text.split())


def page_codes(pdf: bytes) -> list[list[str]]:
    """For every page, the texts of the QR (or mini-program) codes decoded from its images."""
    codes = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        found: list[str] = []
        for image in page.images:
            found += [result.text for result in zxingcpp.read_barcodes(image.image.convert("RGB"))]
        codes.append(found)
    return codes


def image_count(pdf: bytes, page: int = 0) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages[page].images)
