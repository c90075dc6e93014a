"""Marshmallow fields shared by the resource schemas."""

from datetime import UTC, datetime

import marshmallow as ma

from services.web_urls import HTTPS_MESSAGE, is_https_url


class UtcDateTime(ma.fields.AwareDateTime):
    """An ISO 8601 moment with its offset; naive values (SQLite gives those back) are UTC."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
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
