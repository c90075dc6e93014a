"""A subscribe message's `data`: each value written and cut to what its field type takes.

A template's keys name their type by prefix (`thing1`, `amount2`, `time3`, ...), and WeChat refuses
a message whose value breaks its type's rule (errcode 47003), so every value is made to fit:

| prefix | WeChat's rule | here |
|---|---|---|
| `thing` | 20 characters at most | cut to 19 and `…` |
| `number` | 32 digits at most, a decimal point allowed | digits and one point |
| `letter` | 32 letters at most | letters only |
| `symbol` | 5 symbols at most | cut to 5 |
| `character_string` | 32 digits, letters or symbols | printable ASCII, no spaces, cut to 32 |
| `time` | `2019年10月1日 15:01` | Beijing time, to the minute |
| `date` | `2019年10月1日` | Beijing date |
| `amount` | a currency sign, 10 digits at most, decimals | `¥12.50` |
| `phone_number` | 17 digits or symbols | cut to 17 |
| `car_number` | 8 characters | cut to 8 |
| `name` | 10 Chinese characters, or 20 letters | cut to 10 (20 when all ASCII) |
| `phrase` | 5 Chinese characters | Chinese characters only, cut to 5 |

Values come typed (`Fen`, `Measure`, a `datetime`, a `date`, text), so one value reads well in
any field it is given: a `Measure` is `3.5` in a `number` and `3.5千克` in a `thing`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.kernel.beijing_time import BEIJING

PREFIXES = (
    "character_string",
    "phone_number",
    "car_number",
    "thing",
    "number",
    "letter",
    "symbol",
    "time",
    "date",
    "amount",
    "name",
    "phrase",
)
KEY = re.compile(rf"(?P<prefix>{'|'.join(PREFIXES)})(?P<index>[0-9]{{1,2}})")
LIMITS = {
    "thing": 20,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "amount": 14,
    "phone_number": 17,
    "car_number": 8,
    "phrase": 5,
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CJK = re.compile(r"[\u3400-\u9fff]")
# What an empty value becomes: WeChat refuses an empty field, and each type takes its own kind.
_FALLBACK = {"letter": "N", "phrase": "无", "name": "无"}


@dataclass(frozen=True)
class Fen:
    """An amount of money in fen."""

    fen: int

    @property
    def yuan(self) -> str:
        sign = "-" if self.fen < 0 else ""
        return f"{sign}{abs(self.fen) // 100}.{abs(self.fen) % 100:02d}"


@dataclass(frozen=True)
class Measure:
    """A number with its unit: the number alone in a `number` field, with its unit elsewhere."""

    number: Decimal | int
    unit: str

    @property
    def digits(self) -> str:
        if isinstance(self.number, int):
            return str(self.number)
        text = f"{self.number:f}"
        return text.rstrip("0").rstrip(".") if "." in text else text


def prefix_of(key: str) -> str | None:
    """The field type of a template key (`thing` of `thing1`), or None for a key WeChat has not."""
    match = KEY.fullmatch(key)
    return match["prefix"] if match else None


def data_of(fields: Sequence[tuple[str, str]], values: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """WeChat's `data` for these (key, value name) pairs: `{"thing1": {"value": "..."}, ...}`."""
    data = {}
    for key, name in fields:
        prefix = prefix_of(key)
        if prefix is None:
            raise ValueError(f"{key!r} is not a subscribe message field")
        data[key] = {"value": field_value(prefix, values[name])}
    return data


def field_value(prefix: str, value: Any) -> str:
    """`value` written for a field of type `prefix` and cut to that type's rule."""
    return _fit(prefix, _written(prefix, value))


def _written(prefix: str, value: Any) -> str:
    if isinstance(value, datetime):
        moment = value.astimezone(BEIJING)
        day = f"{moment.year}年{moment.month}月{moment.day}日"
        return day if prefix == "date" else f"{day} {moment:%H:%M}"
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, Fen):
        if prefix == "amount":
            return f"¥{value.yuan}"
        return value.yuan if prefix == "number" else f"{value.yuan}元"
    if isinstance(value, Measure):
        return value.digits if prefix == "number" else f"{value.digits}{value.unit}"
    return str(value)


def _fit(prefix: str, text: str) -> str:
    text = _CONTROL.sub("", text).strip()
    if prefix == "number":
        whole, _, decimals = re.sub(r"[^0-9.]", "", text).partition(".")
        decimals = decimals.replace(".", "")
        text = f"{whole or '0'}.{decimals}" if decimals else whole or "0"
    elif prefix == "letter":
        text = re.sub(r"[^A-Za-z]", "", text)
    elif prefix in ("character_string", "phone_number"):
        text = re.sub(r"[^!-~]", "", text)
    elif prefix == "phrase":
        text = "".join(_CJK.findall(text))
    elif prefix == "name":
        limit = 20 if text.isascii() else 10
        return _cut(text, limit) or _FALLBACK["name"]
    limit = LIMITS.get(prefix)
    if limit is not None:
        text = _cut(text, limit) if prefix == "thing" else text[:limit]
    return text or _FALLBACK.get(prefix, "-")


def _cut(text: str, limit: int) -> str:
    """`text` within `limit` characters, a cut one ending in `…`."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
