"""Marshmallow fields shared by the resource schemas, and the bounds every input field keeps.

Input is bounded at the schema: integers are strict (`2.9` is refused, never cut to 2) and within a
range, dates fall in a plausible calendar (`FIRST_DAY`..`LAST_DAY`), strings have a maximum length.
"""

import decimal
import re
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import validate

from services.kernel.web_urls import HTTPS_MESSAGE, is_https_url

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Any date the service accepts: events, claims, reports, actions all fall well inside it, and a
# year later (an offset deadline) or a Beijing-time shift can never leave Python's calendar.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
_ASCII_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
# Where the arguments being read come from (set by api.blueprint's parser): in a JSON body a number
# must be a JSON number, while a query string, form or header can only carry its digits as text.
arguments_location: ContextVar[str | None] = ContextVar("arguments_location", default=None)


def _listed(validators: Any) -> list[Any]:
    if validators is None:
        return []
    return list(validators) if isinstance(validators, list | tuple) else [validators]


def _with(validators: Any, extra: validate.Validator) -> list[Any]:
    return [*_listed(validators), extra]


def _has_both_bounds(validators: Any) -> bool:
    return any(
        isinstance(v, validate.Range) and v.min is not None and v.max is not None for v in _listed(validators)
    )


class Integer(ma.fields.Integer):
    """A whole number, strictly: a JSON integer, or in a query string or form the ASCII digits of one.

    `2.9`, `"1.7"`, `true` and `"¹"` are refused, never read as 2, 1 or 1; in a JSON body `"5"` is
    refused too. Without a range of its
    own the field keeps to a 64-bit integer (the database columns), so no value reaches SQL, Redis
    or arithmetic that they cannot hold.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs["strict"] = True
        if not _has_both_bounds(kwargs.get("validate")):
            kwargs["validate"] = _with(kwargs.get("validate"), validate.Range(min=INT64_MIN, max=INT64_MAX))
        super().__init__(**kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, str):
            if arguments_location.get() == "json" or not _ASCII_INTEGER.fullmatch(value):
                raise self.make_error("invalid", input=value)
            value = int(value)
        return super()._validated(value)


class Number(ma.fields.Decimal):
    """A decimal input between `minimum` and `maximum` (a JSON number or its text); NaN and infinity refused."""

    def __init__(self, minimum: int | decimal.Decimal, maximum: int | decimal.Decimal, **kwargs: Any) -> None:
        kwargs.setdefault("allow_nan", False)
        kwargs["validate"] = _with(kwargs.get("validate"), validate.Range(min=minimum, max=maximum))
        super().__init__(**kwargs)


def numeric_bounds(self: Any, field: ma.fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """apispec attribute function: Decimal bounds written as JSON numbers (`0`, not the string `"0"`)."""
    return {
        key: int(value) if value == value.to_integral_value() else float(value)
        for key, value in ret.items()
        if key in ("minimum", "maximum", "x-minimum", "x-maximum") and isinstance(value, decimal.Decimal)
    }


class InCalendar(validate.Validator):
    """Validator: a date (or a moment's date) between FIRST_DAY and LAST_DAY."""

    error = f"Must be a date from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}."

    def __call__(self, value: date | datetime) -> date | datetime:
        day = value.date() if isinstance(value, datetime) else value
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ma.ValidationError(self.error)
        return value


class PlainText(validate.Validator):
    """Validator: text without control characters (PostgreSQL stores no NUL, and none belongs in a
    name, a reference or a note); `lines=True` allows line breaks and tabs."""

    error = "Must be text without control characters."

    def __init__(self, lines: bool = False) -> None:
        self.allowed = frozenset("\t\n\r") if lines else frozenset()

    def __call__(self, value: str) -> str:
        if any((ord(char) < 32 or ord(char) == 127) and char not in self.allowed for char in value):
            raise ma.ValidationError(self.error)
        return value


class Day(ma.fields.Date):
    """An ISO 8601 calendar date between FIRST_DAY and LAST_DAY."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["validate"] = _with(kwargs.get("validate"), InCalendar())
        super().__init__(**kwargs)


class UtcDateTime(ma.fields.AwareDateTime):
    """An ISO 8601 moment with its offset; naive values (SQLite gives those back) are UTC.

    Read as input, its date must fall between FIRST_DAY and LAST_DAY.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        kwargs["validate"] = _with(kwargs.get("validate"), InCalendar())
        super().__init__(**kwargs)

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class DecimalText(ma.fields.Decimal):
    """A Decimal answered as a string ("0.5306"), so no digit is lost; documented as a decimal string."""

    def __init__(self, **kwargs):
        kwargs.setdefault("as_string", True)
        metadata = {"type": "string", "format": "decimal", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)


def https_url(value: str) -> None:
    """Validator: empty (none), or an absolute https:// URL."""
    if value and not is_https_url(value):
        raise ma.ValidationError(HTTPS_MESSAGE)


class Entries(validate.Validator):
    """Validator of a mapping (`ma.fields.Dict`): between `least` and `most` entries.

    Not marshmallow's `Length`, which OpenAPI would describe as a string's `minLength`: pass
    `Entries.described(least, most)` as the field's metadata so the description says
    `minProperties` and `maxProperties`.
    """

    def __init__(self, least: int, most: int) -> None:
        self.least, self.most = least, most

    def __call__(self, value: Any) -> Any:
        if not self.least <= len(value) <= self.most:
            raise ma.ValidationError(f"Between {self.least} and {self.most} entries.")
        return value

    def described(self) -> dict[str, int]:
        return {"minProperties": self.least, "maxProperties": self.most}
