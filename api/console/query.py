"""Read the filters of a console page from its query string or form; bad values name their field."""

from __future__ import annotations

from datetime import date, datetime

from flask import request

from services.kernel.errors import ValidationFailed


def text(name: str, source: str = "args") -> str | None:
    """A trimmed value, or None when absent or blank."""
    value = getattr(request, source).get(name, "").strip()
    return value or None


def day(name: str, source: str = "args") -> date | None:
    value = text(name, source)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{name}: write a date as YYYY-MM-DD.", errors={name: ["must be YYYY-MM-DD"]}
        ) from None


def moment(name: str) -> datetime | None:
    value = text(name)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{name}: write a moment as YYYY-MM-DD or YYYY-MM-DDTHH:MM.", errors={name: ["not a date"]}
        ) from None


def number(name: str, source: str = "args") -> int | None:
    value = text(name, source)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed(
            f"{name}: write a whole number.", errors={name: ["must be an integer"]}
        ) from None
