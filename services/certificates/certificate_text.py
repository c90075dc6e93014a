"""The text rules of certificate PDFs, pure (no database, no drawing): serials compressed into
ranges, and lines broken so that no Latin word is cut.

**Serial ranges.** A certificate of a large purchase draws on thousands of registry serials, one a
tonne; printed one a line they fill pages, while consecutive serials of one batch say as much in
one line: `FFCER-2024-0000001–0000051`. A serial is a prefix and a number zero-filled to the
batch's width (`Batch.serial`); two serials are consecutive when they share the group (the batch,
or whatever else must stay apart, such as the registry retirement) and the prefix, and the second
is the number after the first at the run's width. A serial without a trailing number stands alone.
The same serial given twice (two slices of one tonne) is one serial, its grams added.

**Line breaks.** reportlab's `wordWrap="CJK"` cuts between any two glyphs, and keeps a Latin word
whole only when its start lies in the second half of the line: a bilingual label in a narrow cell
("登记注销 Retirement") comes out as "Retiremen / t". `CJKParagraph` is a `Paragraph` with
`wordWrap="CJK"` whose lines are broken by `break_lines` instead: between two Chinese characters,
at a space, or between Chinese and Latin; a closing mark (，。）…) never starts a line and an
opening one (（「) never ends one. Only a word wider than the whole line is cut: after a `/` or `-`
where it has one (an address), else where the line is full.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Paragraph

_NUMBERED = re.compile(r"^(.*?)(\d+)$")
RANGE_DASH = "–"  # an en dash, as printed between the first and the last serial


@dataclass(frozen=True)
class SerialRange:
    """Consecutive serials `prefix + first` … `prefix + last` of one group, with their grams."""

    group: Hashable
    prefix: str
    first: str
    last: str
    count: int
    grams: int = 0

    @property
    def text(self) -> str:
        """`FFCER-2024-0000001–0000051`, or the one serial `FFCER-2024-0000007`."""
        if self.count == 1:
            return f"{self.prefix}{self.first}"
        return f"{self.prefix}{self.first}{RANGE_DASH}{self.last}"


def _split(serial: str) -> tuple[str, str]:
    match = _NUMBERED.match(serial)
    return (match.group(1), match.group(2)) if match else (serial, "")


def serial_ranges(items: Iterable[tuple[Hashable, str, int]]) -> list[SerialRange]:
    """Compress `(group, serial, grams)` items into ranges, ordered by prefix, first number, group."""
    numbered: dict[tuple[Hashable, str], dict[str, int]] = {}
    alone: dict[tuple[Hashable, str], int] = {}
    for group, serial, grams in items:
        prefix, digits = _split(serial)
        if digits:
            texts = numbered.setdefault((group, prefix), {})
            texts[digits] = texts.get(digits, 0) + grams
        else:
            alone[(group, serial)] = alone.get((group, serial), 0) + grams
    ranges: list[SerialRange] = []
    for (group, prefix), texts in numbered.items():
        ordered = sorted(texts, key=lambda digits: (int(digits), len(digits)))
        run = [ordered[0]]
        for digits in [*ordered[1:], None]:
            # The next of a run is the number after its last, printed at the width the run began with
            # (a batch's numbers are zero-filled to one width, and outgrow it without a gap).
            if digits is not None and digits == str(int(run[-1]) + 1).zfill(len(run[0])):
                run.append(digits)
                continue
            ranges.append(SerialRange(group, prefix, run[0], run[-1], len(run), sum(texts[d] for d in run)))
            if digits is not None:
                run = [digits]
    ranges += [SerialRange(group, serial, "", "", 1, grams) for (group, serial), grams in alone.items()]
    return sorted(ranges, key=lambda r: (r.prefix, int(r.first or 0), len(r.first), str(r.group)))


def compress_serials(serials: Iterable[str]) -> list[str]:
    """The printed lines of `serials` taken as one group: `['FFCER-2024-0000001–0000051', …]`."""
    return [r.text for r in serial_ranges((None, serial, 0) for serial in serials)]


_CLOSING = "，。、；：？！）」』》〉】％,.;:!?)]}%…—·"
_OPENING = "（「『《〈【([{"
# A Latin run (letters, digits and the marks inside words and addresses), one Chinese character,
# or a run of spaces; a closing mark joins the token before it.
_TOKEN = re.compile(r"[^\s\u3000-\u9fff\uff00-\uffef]+|\s+|.", re.S)
_FUZZ = 1e-6


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for token in _TOKEN.findall(text):
        if tokens and not tokens[-1].isspace() and (token[0] in _CLOSING or tokens[-1][-1] in _OPENING):
            tokens[-1] += token
        else:
            tokens.append(token)
    return tokens


def _cut(word: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """A word wider than a line, in pieces that fit: after a `/` or `-` if it has one, else anywhere."""
    pieces: list[str] = []
    while word and measure(word) > width + _FUZZ:
        end = 1
        while end < len(word) and measure(word[: end + 1]) <= width + _FUZZ:
            end += 1
        soft = max(word.rfind("/", 0, end), word.rfind("-", 0, end))
        end = soft + 1 if soft > 0 else end
        pieces.append(word[:end])
        word = word[end:]
    return [*pieces, word] if word else pieces


def break_lines(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """The lines `text` is set in at `width`, `measure` giving a string's width."""
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        if token.isspace():
            line += " " if line else ""
            continue
        if measure(line + token) <= width + _FUZZ:
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = ""
        if measure(token) > width + _FUZZ:
            *full, token = _cut(token, width, measure)
            lines += full
        line = token
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


class CJKParagraph(Paragraph):
    """A Paragraph of one run of text (no markup) that breaks its lines with `break_lines`."""

    def breakLinesCJK(self, maxWidths):
        frags = self.frags
        if len(frags) != 1 or not hasattr(frags[0], "text"):
            return super().breakLinesCJK(maxWidths)
        frag = frags[0]
        if hasattr(self, "blPara") and getattr(self, "_splitpara", 0):
            return frag.clone(kind=0, lines=self.blPara.lines)
        widths = maxWidths if isinstance(maxWidths, list | tuple) else [maxWidths]

        def measure(part: str) -> float:
            return stringWidth(part, frag.fontName, frag.fontSize)

        # Every line gets the first width but the first (bullets and first-line indents aside).
        lines = break_lines(frag.text, min(widths), measure)
        return frag.clone(
            kind=0,
            lines=[(min(widths) - measure(line), [line]) for line in lines],
            ascent=frag.fontSize,
            descent=-0.2 * frag.fontSize,
        )
