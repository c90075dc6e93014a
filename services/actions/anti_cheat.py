"""Plausibility rules that hold an action for review instead of crediting it (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from services.actions.werun import WeRunDay

STEPS_ABOVE_LIMIT = "steps_above_limit"
FLAT_STEPS_RUN = "flat_steps_run"
TRIP_TOO_LONG = "trip_too_long"


def flat_run_days(days: Sequence[WeRunDay], min_run: int) -> set[date]:
    """Days inside runs of at least `min_run` consecutive dates with the same non-zero step count.

    A phone carried by a person never counts exactly the same steps day after day; a step
    machine or a faked device does.
    """
    if min_run < 2:
        return set()
    flagged: set[date] = set()
    run: list[WeRunDay] = []
    for day in sorted(days, key=lambda d: d.day):
        continues = run and day.steps == run[-1].steps and day.day == run[-1].day + timedelta(days=1)
        run = [*run, day] if continues else [day]
        if day.steps > 0 and len(run) >= min_run:
            flagged.update(d.day for d in run)
    return flagged


def step_flags(day: WeRunDay, flat_days: set[date], flag_above: int) -> list[str]:
    """Why a day's step count is held for review (empty: plausible)."""
    reasons = []
    if day.steps > flag_above:
        reasons.append(STEPS_ABOVE_LIMIT)
    if day.day in flat_days:
        reasons.append(FLAT_STEPS_RUN)
    return reasons


def describe_step_flags(reasons: Sequence[str], steps: int, flag_above: int, min_run: int) -> str:
    parts = []
    if STEPS_ABOVE_LIMIT in reasons:
        parts.append(f"{steps} steps is above the plausible {flag_above} a day")
    if FLAT_STEPS_RUN in reasons:
        parts.append(f"the same {steps} steps on {min_run} or more days in a row")
    return "; ".join(parts)


def trip_flags(metres: int, flag_km: int) -> list[str]:
    """Why a trip is held for review (empty: plausible)."""
    return [TRIP_TOO_LONG] if metres > flag_km * 1000 else []
