"""Beijing calendar days and weeks: actions, caps and rankings count days as users in China see them.

China keeps UTC+8 all year (no daylight saving), so a fixed offset is exact.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

from models import utcnow

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def beijing_date(moment: datetime) -> date:
    """The Beijing calendar day of an aware moment (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING).date()


def today() -> date:
    return beijing_date(utcnow())


def week_start(day: date) -> date:
    """The Monday of the ISO week of `day`."""
    return day - timedelta(days=day.weekday())


def week_id(day: date) -> str:
    """ISO week label, e.g. `2026-W47`."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def day_start_utc(day: date) -> datetime:
    """The moment (in UTC) a Beijing day begins."""
    return datetime.combine(day, time(0), BEIJING).astimezone(UTC)
