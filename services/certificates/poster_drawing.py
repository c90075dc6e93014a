"""A share poster drawn with Pillow: 750 × 1334 px, the size WeChat Moments shows a phone-high image at.

A forest-green gradient with layered hills and pines, the title on it, and a white card with the
holder, the amount, its plain-language equivalent, what the certificate states, the project facts
and the code that opens the record. Chinese is drawn in the certificates' embedded font
(`pdf_font.certificate_font_path`); every text wraps inside its box (CJK between any two characters,
Latin between words, never a closing mark at the start of a line), and when the content is longer
than the card, everything is drawn smaller rather than cut.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import astuple, dataclass

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from services.certificates.pdf_font import CertificateFontMissing, certificate_font_path
from services.certificates.share_code import ShareCode

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 750, 1334
LAYOUT_VERSION = "1"  # part of every ETag: a new layout is a new poster

CARD_LEFT, CARD_RIGHT, CARD_TOP, CARD_BOTTOM = 36, 714, 318, 1246
PAD = 44
INNER_LEFT, INNER_RIGHT = CARD_LEFT + PAD, CARD_RIGHT - PAD
CODE_PX = 232

INK = (22, 57, 42)
MUTED = (104, 124, 113)
GREEN = (27, 122, 74)
PALE = (232, 245, 236)
RED = (198, 40, 40)
TOP_COLOUR, BOTTOM_COLOUR = (8, 52, 38), (38, 120, 84)

# Marks that never start a line (they stay with the character before) or end one (with the one after).
_CLOSING = set("，。、；：？！）」』》〉】％,.;:!?)]}%…—")
_OPENING = set("（「『《〈【([{")
_LATIN = re.compile(r"[0-9A-Za-z][0-9A-Za-z.,:/_\-–·'@+#&=?%]*\s*|\s+|.", re.S)


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Poster:
    """What a poster says, every text already public (the holder masked by the caller)."""

    kicker: str
    title: str
    subtitle: str
    holder_label: str
    holder: str
    amount: str
    amount_unit: str
    amount_label: str
    equivalent: str
    equivalent_source: str
    statement: str
    facts: tuple[Fact, ...]
    stamp: str
    code_title: str
    code_hint: str
    share: ShareCode

    @property
    def etag(self) -> str:
        """Changes with any text, the code's image, or the layout; computed without drawing."""
        texts = [str(part) for part in astuple(self)[:-1]]
        digest = hashlib.sha256("\x1f".join([LAYOUT_VERSION, *texts, self.share.digest]).encode())
        return digest.hexdigest()[:32]

    def render(self) -> bytes:
        """The poster as a PNG (a 256-colour palette, dithered: a fraction of the size of RGB)."""
        return draw(self)


def _font(size: int) -> ImageFont.FreeTypeFont:
    return _load(certificate_font_path(), size)


@functools.lru_cache(maxsize=64)
def _load(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size, index=0)
    except OSError as error:
        log.error("poster font %s cannot be used: %s", path, error)
        raise CertificateFontMissing(
            "the certificate font (CERTIFICATE_FONT_PATH) is missing or not a TrueType font"
        ) from error


def _tokens(text: str) -> list[str]:
    """Pieces a line may break between: a CJK character, a Latin word (with its trailing space)."""
    pieces: list[str] = []
    for piece in _LATIN.findall(text):
        if pieces and piece[0] in _CLOSING:
            space = pieces.pop() if pieces[-1].isspace() and len(pieces) > 1 else ""
            pieces[-1] += space + piece
        elif pieces and pieces[-1][-1] in _OPENING:
            pieces[-1] += piece
        else:
            pieces.append(piece)
    return pieces


def _lines(paragraph: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for piece in _tokens(paragraph):
        if font.getlength(line + piece.rstrip()) <= width:
            line += piece
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = piece.lstrip()
        while font.getlength(line.rstrip()) > width and len(line) > 1:
            cut = len(line) - 1
            while cut > 1 and font.getlength(line[:cut]) > width:
                cut -= 1
            slash = line.rfind("/", 0, cut)  # an address breaks after a slash where it can
            if slash >= cut // 2:
                cut = slash + 1
            keep = cut
            while keep > 1 and line[keep] in _CLOSING:  # a closing mark stays with what it closes
                keep -= 1
            cut = keep if line[keep] not in _CLOSING else cut
            lines.append(line[:cut])
            line = line[cut:]
    lines.append(line.rstrip())
    return lines


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """`text` in lines no wider than `width` (a piece wider than a line is broken by character).

    A paragraph whose last line would hold a character or two is set a little narrower, so that
    its end does not stand alone (as long as that takes no extra line).
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        best = _lines(paragraph, font, width)
        narrower = width
        while len(best) > 1 and font.getlength(best[-1]) < width * 0.2 and narrower > width * 0.8:
            narrower -= width * 0.04
            tried = _lines(paragraph, font, narrower)
            if len(tried) != len(best):
                break
            best = tried
        lines += best
    return lines


class _Flow:
    """Text set downwards from `y`, at a scale (1 = full size) shared by every size on the card."""

    def __init__(self, canvas: ImageDraw.ImageDraw | None, y: float, scale: float) -> None:
        self.canvas, self.y, self.scale = canvas, y, scale

    def font(self, size: float) -> ImageFont.FreeTypeFont:
        return _font(max(12, round(size * self.scale)))

    def gap(self, pixels: float) -> None:
        self.y += pixels * self.scale

    def text(
        self,
        text: str,
        size: float,
        fill: tuple[int, ...],
        left: float = INNER_LEFT,
        right: float = INNER_RIGHT,
    ) -> None:
        font = self.font(size)
        step = font.size * 1.42
        for line in wrap(text, font, right - left):
            if self.canvas is not None:
                self.canvas.text((left, self.y), line, font=font, fill=fill)
            self.y += step


def _gradient() -> Image.Image:
    column = Image.new("RGB", (1, HEIGHT))
    for y in range(HEIGHT):
        t = y / (HEIGHT - 1)
        column.putpixel(
            (0, y), tuple(round(a + (b - a) * t) for a, b in zip(TOP_COLOUR, BOTTOM_COLOUR, strict=True))
        )
    return column.resize((WIDTH, HEIGHT))


def _scenery(image: Image.Image) -> None:
    """Hills in three shades and a row of pines along the card's top edge; sun rays behind."""
    glow = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    ImageDraw.Draw(glow).ellipse((570, -30, 730, 130), fill=(255, 202, 87, 170))
    image.alpha_composite(glow.filter(ImageFilter.GaussianBlur(40)))
    layer = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    pen = ImageDraw.Draw(layer)
    pen.ellipse((616, 16, 684, 84), fill=(255, 218, 106, 235))
    for base, amplitude, shift, colour in (
        (250, 46, 0, (129, 199, 132, 60)),
        (282, 36, 170, (102, 187, 106, 80)),
        (306, 26, 330, (67, 160, 71, 110)),
    ):
        points = [(0, HEIGHT)]
        for x in range(0, WIDTH + 1, 10):
            phase = ((x + shift) % 500) / 500
            height = amplitude * (1 - abs(2 * phase - 1)) ** 1.6
            points.append((x, base - height))
        points.append((WIDTH, HEIGHT))
        pen.polygon(points, fill=colour)
    for x, size in ((64, 44), (104, 62), (148, 38), (600, 58), (646, 40), (686, 52)):
        ground = CARD_TOP + 4
        for tier in range(3):
            top = ground - size + tier * size * 0.28
            half = size * (0.42 - tier * 0.09)
            pen.polygon(
                [(x, top), (x - half, top + size * 0.42), (x + half, top + size * 0.42)],
                fill=(27, 94, 32, 200),
            )
        pen.rectangle((x - 3, ground - 6, x + 3, ground + 4), fill=(62, 39, 35, 200))
    image.alpha_composite(layer)


def _card(image: Image.Image) -> None:
    shadow = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    ImageDraw.Draw(shadow).rounded_rectangle(
        (CARD_LEFT, CARD_TOP + 10, CARD_RIGHT, CARD_BOTTOM + 12), radius=34, fill=(0, 30, 15, 110)
    )
    image.alpha_composite(shadow.filter(ImageFilter.GaussianBlur(14)))
    pen = ImageDraw.Draw(image)
    pen.rounded_rectangle((CARD_LEFT, CARD_TOP, CARD_RIGHT, CARD_BOTTOM), radius=34, fill=GREEN)
    pen.rounded_rectangle((CARD_LEFT, CARD_TOP + 8, CARD_RIGHT, CARD_BOTTOM), radius=34, fill=(255, 255, 255))


def _head(pen: ImageDraw.ImageDraw, poster: Poster) -> None:
    kicker = _font(24)
    width = kicker.getlength(poster.kicker)
    left = (WIDTH - width) / 2
    pen.rounded_rectangle(
        (left - 22, 58, left + width + 22, 102), radius=22, outline=(200, 230, 201), width=2
    )
    pen.text((WIDTH / 2, 80), poster.kicker, font=kicker, fill=(220, 240, 222), anchor="mm")
    size = 74
    while size > 40 and _font(size).getlength(poster.title) > WIDTH - 96:
        size -= 2
    lines = wrap(poster.title, _font(size), WIDTH - 96)
    y = 128
    for line in lines:
        pen.text(
            (WIDTH / 2, y),
            line,
            font=_font(size),
            fill="white",
            anchor="ma",
            stroke_width=1,
            stroke_fill="white",
        )
        y += size * 1.2
    pen.text((WIDTH / 2, y + 10), poster.subtitle, font=_font(24), fill=(200, 230, 201), anchor="ma")


def _body(canvas: ImageDraw.ImageDraw | None, poster: Poster, scale: float) -> float:
    """Set the card's text at `scale` (on `canvas`, or only measured when it is None); where it ends."""
    flow = _Flow(canvas, CARD_TOP + 44, scale)
    flow.text(poster.holder_label, 22, MUTED)
    flow.gap(2)
    flow.text(poster.holder, 40, INK)
    flow.gap(18)
    number, unit = flow.font(104), flow.font(34)
    if canvas is not None:
        canvas.text((INNER_LEFT, flow.y), poster.amount, font=number, fill=GREEN, anchor="la")
        baseline = flow.y + number.getmetrics()[0]
        canvas.text(
            (INNER_LEFT + number.getlength(poster.amount) + 14, baseline),
            poster.amount_unit,
            font=unit,
            fill=GREEN,
            anchor="ls",
        )
    flow.y += number.size * 1.18
    flow.text(poster.amount_label, 24, MUTED)
    flow.gap(18)
    if poster.equivalent:
        top = flow.y
        inner = _Flow(None, top + 18, scale)
        inner.text(poster.equivalent, 27, GREEN, INNER_LEFT + 24, INNER_RIGHT - 24)
        inner.text(poster.equivalent_source, 18, MUTED, INNER_LEFT + 24, INNER_RIGHT - 24)
        bottom = inner.y + 12 * scale
        if canvas is not None:
            canvas.rounded_rectangle((INNER_LEFT, top, INNER_RIGHT, bottom), radius=20, fill=PALE)
            drawn = _Flow(canvas, top + 18, scale)
            drawn.text(poster.equivalent, 27, GREEN, INNER_LEFT + 24, INNER_RIGHT - 24)
            drawn.text(poster.equivalent_source, 18, MUTED, INNER_LEFT + 24, INNER_RIGHT - 24)
        flow.y = bottom
        flow.gap(22)
    if poster.statement:
        flow.text(poster.statement, 24, INK)
        flow.gap(14)
    if canvas is not None:
        for x in range(INNER_LEFT, INNER_RIGHT, 16):
            canvas.line((x, flow.y, x + 8, flow.y), fill=(200, 214, 205), width=2)
    flow.gap(20)
    label_width = max((flow.font(22).getlength(fact.label) for fact in poster.facts), default=0) + 22
    for fact in poster.facts:
        top = flow.y
        flow.text(fact.label, 22, MUTED, INNER_LEFT, INNER_LEFT + label_width)
        labelled = flow.y
        flow.y = top - 1 * scale
        flow.text(fact.value, 24, INK, INNER_LEFT + label_width, INNER_RIGHT)
        flow.y = max(flow.y, labelled)
        flow.gap(8)
    return flow.y


def _code(image: Image.Image, pen: ImageDraw.ImageDraw, poster: Poster) -> None:
    top = CARD_BOTTOM - PAD - CODE_PX
    with Image.open(io.BytesIO(poster.share.png)) as source:
        code = source.convert("RGB")
    if poster.share.mode == "qr":  # whole pixels per module keep a QR crisp
        modules = code.width // 10
        side = max(modules * 2, CODE_PX // modules * modules)
        code = code.resize((side, side), Image.Resampling.NEAREST)
    else:
        code = code.resize((CODE_PX, CODE_PX), Image.Resampling.LANCZOS)
    offset = (CODE_PX - code.width) // 2
    image.paste(code, (INNER_LEFT + offset, top + offset))
    left = INNER_LEFT + CODE_PX + 30
    flow = _Flow(pen, top + 40, 1)
    flow.text(poster.code_title, 30, INK, left)
    flow.gap(6)
    flow.text(poster.code_hint, 21, MUTED, left)


def _stamp(image: Image.Image, text: str) -> None:
    font = _font(64)
    width = int(font.getlength(text)) + 60
    badge = Image.new("RGBA", (width, 110), (0, 0, 0, 0))
    pen = ImageDraw.Draw(badge)
    pen.rounded_rectangle((4, 4, width - 4, 106), radius=18, outline=(*RED, 230), width=6)
    pen.text((width / 2, 55), text, font=font, fill=(*RED, 230), anchor="mm")
    badge = badge.rotate(14, expand=True, resample=Image.Resampling.BICUBIC)
    image.alpha_composite(badge, (CARD_RIGHT - badge.width - 10, CARD_TOP + 40))


def fitting_scale(poster: Poster) -> float:
    """The largest scale (1.15 down to 0.55) at which the card's text ends above the code."""
    limit = CARD_BOTTOM - PAD - CODE_PX - 24
    scale = 1.15
    while scale > 0.55 and _body(None, poster, scale) > limit:
        scale -= 0.05
    return scale


def draw(poster: Poster) -> bytes:
    image = _gradient().convert("RGBA")
    _scenery(image)
    _card(image)
    pen = ImageDraw.Draw(image)
    _head(pen, poster)
    _body(pen, poster, fitting_scale(poster))
    _code(image, pen, poster)
    if poster.stamp:
        _stamp(image, poster.stamp)
    footer = _font(22)
    pen.text(
        (WIDTH / 2, (CARD_BOTTOM + HEIGHT) / 2 + 4),
        "碳普惠 · 每一吨都可追溯到登记序列号",
        font=footer,
        fill=(220, 240, 222),
        anchor="mm",
    )
    rgb = image.convert("RGB")
    # Pillow dithers only towards a given palette: find the 256 colours first, then dither to them.
    colours = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    palette = rgb.quantize(palette=colours, dither=Image.Dither.FLOYDSTEINBERG)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def facts_text(values: Sequence[str], most: int, more: str) -> str:
    """`values` joined with 、, the first `most` only and then `more` (e.g. "等 5 个项目")."""
    shown = list(values[:most])
    text = "、".join(shown)
    return f"{text}{more.format(len(values))}" if len(values) > most else text
