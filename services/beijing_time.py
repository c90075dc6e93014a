"""Beijing time (Asia/Shanghai): the calendar of WeChat Pay's bills and of the sales reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")  # UTC+8 all year: no daylight saving since 1991


def day_start(day: date) -> datetime:
    """The UTC moment a Beijing calendar day starts."""
    return datetime.combine(day, time(), BEIJING).astimezone(UTC)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Beijing calendar day, in UTC."""
    return day_start(day), day_start(day + timedelta(days=1))
