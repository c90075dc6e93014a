"""Whole numbers written as text (CSV cells, form fields): ASCII digits only, and never too many.

`str.isdigit()` also takes '¹' or '٣', which `int()` then refuses or reads as another number, and
`int()` refuses a digit string longer than 4,300 characters: both would be errors, not answers.
"""

from __future__ import annotations

import re

# 18 digits always fit a 64-bit column.
_WHOLE = re.compile(r"[0-9]{1,18}")


def parse_whole(text: str) -> int | None:
    """The number `text` writes (surrounding blanks allowed), or None when it is not 1 to 18 ASCII digits."""
    text = text.strip()
    return int(text) if _WHOLE.fullmatch(text) else None
