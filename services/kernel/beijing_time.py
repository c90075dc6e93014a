"""Beijing time (UTC+8): the calendar in which users' days and the operator's weeks and months are counted.

China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact. Moments are
stored in UTC; these helpers turn Beijing calendar days into the UTC moments they start at.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from models import utcnow
from payments.protocol import BEIJING  # one definition, shared with WeChat Pay's timestamps


def beijing_date(moment: datetime) -> date:
    """The Beijing calendar day of an aware moment (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING).date()


def today() -> date:
    """Today's date in Beijing."""
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


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after the month of `day` (negative: before)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Beijing calendar day, in UTC."""
    return day_start_utc(day), day_start_utc(day + timedelta(days=1))
