"""Beijing time (UTC+8), in which the operator's days, weeks and months are counted.

China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact. Moments are
stored in UTC; these helpers turn Beijing calendar days into the UTC moments they start at.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from models import utcnow

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def today() -> date:
    """Today's date in Beijing."""
    return utcnow().astimezone(BEIJING).date()


def day_start(day: date) -> datetime:
    """The UTC moment at which `day` begins in Beijing."""
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING).astimezone(UTC)


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after the month of `day` (negative: before)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def week_start(day: date) -> date:
    """The Monday of the week of `day`."""
    return day - timedelta(days=day.weekday())
