"""Canonical JSON: the one byte form of an entry and of a signed tree head.

Keys sorted, no spaces (`,` and `:` only), UTF-8 without escapes for non-ASCII text, and no floats
(grams and fen are integers; a float has no single decimal form). So the same value always gives
the same bytes, and anyone can recompute them.
"""

from __future__ import annotations

import json
from typing import Any


def _check(value: Any, where: str = "$") -> None:
    if isinstance(value, float):
        raise TypeError(f"{where}: a float has no canonical form; use an integer or a string")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: keys must be strings, not {key!r}")
            _check(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for position, item in enumerate(value):
            _check(item, f"{where}[{position}]")
    elif not (value is None or isinstance(value, bool | int | str)):
        raise TypeError(f"{where}: {type(value).__name__} is not JSON")


def encode(value: Any) -> str:
    """`value` as canonical JSON text (its UTF-8 bytes are what gets hashed or signed)."""
    _check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def is_canonical(text: str) -> bool:
    """Whether `text` is exactly the canonical form of the JSON it holds."""
    try:
        return encode(json.loads(text)) == text
    except (ValueError, TypeError):
        return False
