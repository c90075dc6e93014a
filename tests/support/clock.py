"""Keep a test from straddling midnight in Beijing, where "today" and "this month" change.

The service counts days and months in Beijing time (UTC+8, midnight at 16:00 UTC). A test that
reads "today" and then asks the service for today's figures would fail if midnight fell between
the two, as it will on a long run that crosses 16:00 UTC. Before each test, when less than
`margin_s` is left of the Beijing day, the test waits for the new day: a run crosses midnight at
most once, so this costs at most `margin_s` once, and no test then starts within reach of the next.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.kernel.beijing_time import BEIJING

MARGIN_S = 120.0


def seconds_to_beijing_midnight(now: datetime) -> float:
    """Seconds from `now` (aware) to the next midnight in Beijing."""
    local = now.astimezone(BEIJING)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), BEIJING)
    return (midnight - local).total_seconds()


def wait_out_beijing_midnight(
    margin_s: float = MARGIN_S,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Sleep past Beijing midnight when it is less than `margin_s` away; the seconds slept."""
    left = seconds_to_beijing_midnight(now())
    if left >= margin_s:
        return 0.0
    sleep(left + 1)
    return left + 1
