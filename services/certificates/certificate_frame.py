"""The one frame every certificate PDF is set in: a personal or offset certificate, an event's, a claim's,
an adoption's.

A kind says what it prints as a `CertificateDocument` (title, key/value rows, statement, tables,
the code that opens its verification page); this module sets it with reportlab's platypus on A4:
a `BaseDocTemplate` whose page template draws the frame on every page (the border, the issuer with
its seal, the code and the address to verify, the page number, a red VOID across a voided
certificate), and a story of `Paragraph`s (Chinese wraps between any two characters, Latin between
words: `wordWrap="CJK"`, lines broken by `certificate_text`) and `Table`s that flow onto the next page when they must. Every text is
set in the embedded TrueType font (`pdf_font`); nothing counts lines by hand.

A document fits in `max_pages` (two): when it does not, the tables marked `shrinkable` are cut and
end in a summarised tail ("… and N more ranges — full list at <URL>"), the last such table (the
serials) keeping as many rows as still fit, the others first cut to a few rows, figures dropped.

The issuer is the operator (`CERTIFICATE_ISSUER_NAME`) with an optional seal or logo image
(`CERTIFICATE_SEAL_PATH`); the composition root calls `configure` at start.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import registerFontFamily, stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from config.safety import certificate_seal_problem
from services.certificates import equivalents
from services.certificates.certificate_text import CJKParagraph
from services.certificates.pdf_font import certificate_font
from services.certificates.share_code import ShareCode

log = logging.getLogger(__name__)

DEFAULT_ISSUER_NAME = "碳普惠"
MAX_PAGES = 2
GREEN = colors.HexColor("#2e7d32")
PALE = colors.HexColor("#e8f5e9")
MUTED = colors.HexColor("#5f6f66")
RED = colors.HexColor("#c62828")

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT, RIGHT = 20 * mm, PAGE_WIDTH - 20 * mm
FRAME_BOTTOM, FRAME_TOP = 58 * mm, PAGE_HEIGHT - 21 * mm
FRAME_WIDTH = RIGHT - LEFT
CODE_SIZE = 34 * mm
SEAL_SIZE = 21 * mm
CELL_FONT_SIZE, CELL_LEADING, CELL_PADDING = 8, 10, 2


@dataclass(frozen=True)
class Issuer:
    """Who issues the certificates: the operator's name, and its seal or logo image (a path, or empty)."""

    name: str = DEFAULT_ISSUER_NAME
    seal_path: str = ""


_issuer = Issuer()


def configure(name: str, seal_path: str) -> None:
    """Issue certificates as `name` with the seal at `seal_path` (empty: none); warn when it is unreadable."""
    global _issuer
    problem = certificate_seal_problem(seal_path)
    if problem is not None:
        # Production refuses to start on it (config.safety); elsewhere the certificates go without.
        log.warning("%s: certificates are printed without a seal", problem)
    _issuer = Issuer(name or DEFAULT_ISSUER_NAME, "" if problem else seal_path)


def issuer() -> Issuer:
    return _issuer


@dataclass(frozen=True)
class Row:
    """One key/value row: a bilingual label, the value, and an optional small note below it."""

    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Section:
    """A headed table. `shrinkable`: cut to the rows that fit, the rest summarised by `tail`
    (formatted with `n`, the rows left out). `figure` (a chart) follows the table unless dropped."""

    heading: str
    columns: tuple[str, ...]
    widths: tuple[float, ...]  # fractions of the frame's width
    rows: tuple[tuple[str, ...], ...]
    tail: str = ""
    shrinkable: bool = False
    figure: Flowable | None = None


@dataclass(frozen=True)
class CertificateDocument:
    """What one certificate prints, every text already what its reader may see."""

    pdf_title: str
    title: str
    subtitle: str
    code: ShareCode  # from `share_code`: the mini-program code or the QR code of `code.web_url`
    rows: tuple[Row, ...] = ()
    statement: str = ""
    sections: tuple[Section, ...] = ()
    stamp: str = ""  # red across every page: "已作废 VOID", "尚未完成中和 NOT YET NEUTRAL"
    stamp_note: str = ""
    reference: str = ""  # the number the page header of page 2 on repeats
    max_pages: int = MAX_PAGES


def amount_row(label: str, grams: int) -> Row:
    """The amount in kg or t CO2e, with its plain-language equivalent and the factor it is from."""
    equivalent = equivalents.grid_electricity(grams)
    return Row(label, f"{format_grams(grams)} CO2e", f"{equivalent.text}（{equivalent.source}）")


def format_grams(grams: int) -> str:
    """`20.0 kg` below a tonne, `1.500 t` from one tonne."""
    if grams >= 1_000_000:
        return f"{grams / 1_000_000:,.3f} t"
    return f"{grams / 1_000:,.1f} kg"


@dataclass
class _Styles:
    font: str
    title: ParagraphStyle = field(init=False)
    subtitle: ParagraphStyle = field(init=False)
    stamp: ParagraphStyle = field(init=False)
    label: ParagraphStyle = field(init=False)
    value: ParagraphStyle = field(init=False)
    note: ParagraphStyle = field(init=False)
    body: ParagraphStyle = field(init=False)
    heading: ParagraphStyle = field(init=False)
    cell: ParagraphStyle = field(init=False)
    head_cell: ParagraphStyle = field(init=False)
    small: ParagraphStyle = field(init=False)
    url: ParagraphStyle = field(init=False)

    def __post_init__(self) -> None:
        def style(name: str, size: float, leading: float, **more: Any) -> ParagraphStyle:
            return ParagraphStyle(
                name, fontName=self.font, fontSize=size, leading=leading, wordWrap="CJK", **more
            )

        self.title = style("title", 24, 30, alignment=TA_CENTER, textColor=GREEN)
        self.subtitle = style("subtitle", 11, 14, alignment=TA_CENTER, textColor=MUTED, spaceAfter=4)
        self.stamp = style("stamp", 16, 20, alignment=TA_CENTER, textColor=RED, spaceBefore=2)
        self.label = style("label", 9, 12, textColor=MUTED)
        self.value = style("value", 11, 14)
        self.note = style("note", 7.5, 9.5, textColor=MUTED)
        self.body = style("body", 10, 14, spaceBefore=6, alignment=TA_LEFT)
        self.heading = style("heading", 10.5, 14, textColor=GREEN, spaceAfter=2)
        self.cell = style("cell", CELL_FONT_SIZE, CELL_LEADING)
        self.head_cell = style("head", CELL_FONT_SIZE, CELL_LEADING, textColor=GREEN)
        self.small = style("small", 7, 9, textColor=MUTED)
        self.url = style("url", 7.5, 9.5)


def _text(value: str, style: ParagraphStyle) -> Paragraph:
    return CJKParagraph(escape(str(value)), style)


LABEL_WIDTH = 32 * mm
HALF_VALUE_WIDTH = FRAME_WIDTH / 2 - LABEL_WIDTH


def _short(row: Row, styles: _Styles) -> bool:
    """A row whose value fits on one line of half the frame: set two to a line."""
    width = stringWidth(row.value, styles.font, styles.value.fontSize)
    return not row.note and width <= HALF_VALUE_WIDTH - 6


def _rows_table(rows: Sequence[Row], styles: _Styles) -> Table:
    """The key/value rows, two short rows side by side, a long one (or one with a note) across."""
    data: list[list[Any]] = []
    spans: list[int] = []
    waiting: Row | None = None

    def cells(row: Row) -> list[Any]:
        value: list[Flowable] = [_text(row.value, styles.value)]
        if row.note:
            value.append(_text(row.note, styles.note))
        return [_text(row.label, styles.label), value]

    for row in rows:
        if _short(row, styles):
            if waiting is None:
                waiting = row
                continue
            data.append(cells(waiting) + cells(row))
            waiting = None
            continue
        if waiting is not None:
            spans.append(len(data))
            data.append([*cells(waiting), "", ""])
            waiting = None
        spans.append(len(data))
        data.append([*cells(row), "", ""])
    if waiting is not None:
        spans.append(len(data))
        data.append([*cells(waiting), "", ""])
    widths = [LABEL_WIDTH, HALF_VALUE_WIDTH, LABEL_WIDTH, HALF_VALUE_WIDTH]
    table = Table(data, colWidths=widths, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), styles.font),  # a table's own default is Helvetica
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, PALE),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                *(("SPAN", (1, index), (3, index)) for index in spans),
            ]
        )
    )
    return table


def _section(section: Section, styles: _Styles, cap: int | None, figures: bool) -> list[Flowable]:
    """The heading (the table's first row, so it never stays alone at a page's foot), the column
    heads (repeated on the next page), the rows shown and the tail of those left out."""
    shown = section.rows if cap is None else section.rows[:cap]
    left_out = len(section.rows) - len(shown)
    blank = [""] * (len(section.columns) - 1)
    data: list[list[Any]] = [
        [_text(section.heading, styles.heading), *blank],
        [_text(column, styles.head_cell) for column in section.columns],
    ]
    data += [[_text(cell, styles.cell) for cell in row] for row in shown]
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), styles.font),  # a table's own default is Helvetica
        ("SPAN", (0, 0), (-1, 0)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 1), (-1, 1), PALE),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#c8e6c9")),
        ("TOPPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("BOTTOMPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (0, 0), 0),
    ]
    if left_out:
        data.append([_text(section.tail.format(n=left_out), styles.cell), *blank])
        commands.append(("SPAN", (0, len(data) - 1), (-1, len(data) - 1)))
    widths = [FRAME_WIDTH * w for w in section.widths]
    table = Table(data, colWidths=widths, repeatRows=(1,), hAlign="LEFT", spaceBefore=6)
    table.setStyle(TableStyle(commands))
    story: list[Flowable] = [table]
    if section.figure is not None and figures:
        story += [Spacer(1, 3 * mm), section.figure]
    return story


def _story(document: CertificateDocument, styles: _Styles, caps: dict[int, int], figures: bool) -> list:
    story: list[Flowable] = [_text(document.title, styles.title), _text(document.subtitle, styles.subtitle)]
    if document.stamp:
        story.append(_text(document.stamp, styles.stamp))
    if document.stamp_note:
        story.append(_text(document.stamp_note, styles.note))
    story.append(Spacer(1, 4 * mm))
    if document.rows:
        story.append(_rows_table(document.rows, styles))
    if document.statement:
        story.append(_text(document.statement, styles.body))
    for index, section in enumerate(document.sections):
        story += _section(section, styles, caps.get(index), figures)
    return story


def _seal(path: str) -> ImageReader | None:
    """The issuer's seal image, or None (logged) when it cannot be read: a certificate is still printed."""
    if not path:
        return None
    try:
        return ImageReader(path)
    except (OSError, ValueError) as error:
        log.warning("certificate seal image %s cannot be drawn: %s", path, type(error).__name__)
        return None


def _draw_frame(
    canvas: Canvas,
    doc: BaseDocTemplate,
    *,
    document: CertificateDocument,
    styles: _Styles,
    code: ImageReader,
    seal: ImageReader | None,
    issued_by: str,
) -> None:
    """What every page carries: the border, the issuer and seal, the code and address, the page."""
    page = canvas.getPageNumber()
    canvas.saveState()
    canvas.setStrokeColor(GREEN)
    canvas.setLineWidth(2.5)
    canvas.rect(10 * mm, 10 * mm, PAGE_WIDTH - 20 * mm, PAGE_HEIGHT - 20 * mm)
    canvas.setLineWidth(0.6)
    canvas.rect(12.5 * mm, 12.5 * mm, PAGE_WIDTH - 25 * mm, PAGE_HEIGHT - 25 * mm)
    if page > 1:
        header = f"{document.title} {document.reference} · 续 continued"
        _column(canvas, [(header, styles.small)], LEFT, PAGE_HEIGHT - 14.5 * mm, FRAME_WIDTH)
    canvas.setStrokeColor(PALE)
    canvas.setLineWidth(0.8)
    canvas.line(LEFT, FRAME_BOTTOM - 3 * mm, RIGHT, FRAME_BOTTOM - 3 * mm)
    bottom = 18 * mm
    canvas.drawImage(code, RIGHT - CODE_SIZE, bottom, CODE_SIZE, CODE_SIZE)
    if seal is not None:
        canvas.drawImage(
            # Beside the issuer's name, above the address.
            seal,
            LEFT + 66 * mm,
            bottom + 15 * mm,
            SEAL_SIZE,
            SEAL_SIZE,
            mask="auto",
            preserveAspectRatio=True,
        )
    if document.code.mode == "wxacode":
        scan = "微信扫码 打开小程序核验 Scan in WeChat to verify, or visit"
    else:
        scan = "扫码或访问核验 Scan or visit to verify"
    words = RIGHT - CODE_SIZE - 4 * mm - LEFT
    top = _column(
        canvas,
        [("签发机构 Issuer", styles.label), (issued_by, styles.value)],
        LEFT,
        bottom + CODE_SIZE,
        64 * mm,
    )
    _column(
        canvas,
        [(scan, styles.label), (document.code.web_url, styles.url)],
        LEFT,
        min(top, bottom + 14 * mm),
        words,
    )
    canvas.setFont(styles.font, 7)
    canvas.setFillColor(MUTED)
    canvas.drawRightString(RIGHT, 14 * mm, f"第 {page} 页 Page {page}")
    if document.stamp:
        canvas.setFillColor(RED)
        canvas.setFillAlpha(0.16)
        canvas.setFont(styles.font, 64)
        canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
        canvas.rotate(35)
        canvas.drawCentredString(0, 0, document.stamp)
    canvas.restoreState()


def _column(
    canvas: Canvas, words: list[tuple[str, ParagraphStyle]], x: float, top: float, width: float
) -> float:
    """Draw the paragraphs one under the other from `top` down; where the last one ends."""
    for text, style in words:
        paragraph = _text(text, style)
        _, height = paragraph.wrapOn(canvas, width, 40 * mm)
        top -= height
        paragraph.drawOn(canvas, x, top)
        top -= 1.5
    return top


class _TooLong(Exception):
    """The document runs past the pages it may take: no need to set the rest."""


def _build(
    document: CertificateDocument,
    styles: _Styles,
    caps: dict[int, int],
    figures: bool,
    limit: int | None = None,
) -> tuple[bytes, int]:
    """The PDF and its page count; past `limit` pages, no PDF and `limit + 1`."""
    buffer = io.BytesIO()
    who = issuer()
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        title=document.pdf_title,
        author=who.name,
        creator=who.name,
        initialFontName=styles.font,  # never Helvetica, which is named but not embedded
        initialFontSize=10,
    )
    frame = Frame(LEFT, FRAME_BOTTOM, FRAME_WIDTH, FRAME_TOP - FRAME_BOTTOM, 0, 0, 0, 0, id="body")
    draw = partial(
        _draw_frame,
        document=document,
        styles=styles,
        code=ImageReader(io.BytesIO(document.code.png)),
        seal=_seal(who.seal_path),
        issued_by=who.name,
    )

    def on_page(canvas: Canvas, doc: BaseDocTemplate) -> None:
        if limit is not None and canvas.getPageNumber() > limit:
            raise _TooLong
        draw(canvas, doc)

    doc.addPageTemplates([PageTemplate(id="certificate", frames=[frame], onPage=on_page)])
    try:
        doc.build(_story(document, styles, caps, figures))
    except _TooLong:
        return b"", (limit or 0) + 1
    return buffer.getvalue(), doc.page


def render(document: CertificateDocument) -> bytes:
    """The document as a PDF of at most `max_pages` pages (its shrinkable tables cut to fit)."""
    font = certificate_font()
    registerFontFamily(font, normal=font, bold=font, italic=font, boldItalic=font)
    styles = _Styles(font)
    most = document.max_pages
    shrinkable = [i for i, s in enumerate(document.sections) if s.shrinkable]
    # No table can show more rows than the pages hold at one line a row.
    reach = int(most * (FRAME_TOP - FRAME_BOTTOM) / (CELL_LEADING + 2 * CELL_PADDING))
    if not shrinkable:
        return _build(document, styles, {}, True)[0]
    if all(len(document.sections[i].rows) <= reach for i in shrinkable):
        pdf, pages = _build(document, styles, {}, True, most)
        if pages <= most:
            return pdf
    last, others = shrinkable[-1], shrinkable[:-1]
    rows = len(document.sections[last].rows)
    # The other tables give way (and the figures) until the last one shows a few rows at least.
    plans = ((reach, True, 10), (16, True, 10), (16, False, 10), (6, False, 10), (0, False, 0))
    for others_cap, figures, floor in plans:
        caps = {i: others_cap for i in others}
        low = min(rows, floor)
        best, pages = _build(document, styles, caps | {last: low}, figures, most)
        if pages > most:
            continue
        high = min(rows, reach)
        while low < high:
            middle = (low + high + 1) // 2
            candidate, pages = _build(document, styles, caps | {last: middle}, figures, most)
            if pages <= most:
                low, best = middle, candidate
            else:
                high = middle - 1
        return best
    log.warning("certificate %s does not fit in %d pages", document.reference, most)
    return _build(document, styles, dict.fromkeys(shrinkable, 0), False)[0]
