"""The settings that shape low-carbon actions: points, daily caps, anti-cheat limits, read once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models import TRIP_KINDS, ActionKind

# The AppID that WeRun watermarks carry where logins are the sandbox's and no WECHAT_APPID is set.
SANDBOX_APPID = "wxsandbox000000000"


def sandbox_werun(settings: Mapping[str, Any]) -> bool:
    """Whether WeRun may run on the sandbox: logins are the sandbox's and the profile is not production."""
    return bool(settings["WECHAT_SANDBOX_LOGIN"]) and settings["CARBON_PROFILE"] != "production"


def werun_appid(settings: Mapping[str, Any]) -> str:
    """The AppID a WeRun watermark must name: `WECHAT_APPID`; unset, the sandbox's where WeRun may
    run on the sandbox (see `sandbox_werun`); otherwise empty (WeRun is then unavailable)."""
    if settings["WECHAT_APPID"]:
        return str(settings["WECHAT_APPID"])
    return SANDBOX_APPID if sandbox_werun(settings) else ""


def parse_daily_caps(text: str) -> dict[ActionKind, int]:
    """`"bus=1500,metro=2500"` → grams credited at most per day for each trip kind."""
    caps: dict[ActionKind, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        try:
            kind = ActionKind(name.strip())
            grams = int(value)
        except ValueError:
            kind, grams = None, -1
        if not sep or kind not in TRIP_KINDS or grams < 0:
            raise ValueError(
                f"ACTION_DAILY_CAP_G: {part!r} is not `<kind>=<grams>` with a kind in "
                f"{sorted(k.value for k in TRIP_KINDS)} and grams >= 0"
            )
        caps[kind] = grams
    missing = TRIP_KINDS - caps.keys()
    if missing:
        raise ValueError(f"ACTION_DAILY_CAP_G: no cap for {sorted(k.value for k in missing)}")
    return caps


@dataclass(frozen=True)
class ActionPolicy:
    points_per_kg: int = 10
    steps_daily_cap: int = 20_000
    steps_flag_above: int = 60_000
    steps_flat_run_days: int = 5
    daily_cap_g: tuple[tuple[ActionKind, int], ...] = ((ActionKind.BUS, 1_500), (ActionKind.METRO, 2_500))
    trip_flag_km: int = 60
    max_age_days: int = 30
    werun_max_age_s: int = 600
    points_expiry_days: int = 365
    wechat_appid: str = ""

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ActionPolicy:
        caps = parse_daily_caps(settings["ACTION_DAILY_CAP_G"])
        return cls(
            points_per_kg=settings["POINTS_PER_KG_REDUCTION"],
            steps_daily_cap=settings["STEPS_DAILY_CAP"],
            steps_flag_above=settings["STEPS_FLAG_ABOVE"],
            steps_flat_run_days=settings["STEPS_FLAT_RUN_DAYS"],
            daily_cap_g=tuple(sorted(caps.items())),
            trip_flag_km=settings["TRIP_FLAG_KM"],
            max_age_days=settings["ACTION_MAX_AGE_DAYS"],
            werun_max_age_s=settings["WERUN_MAX_AGE_S"],
            points_expiry_days=settings["POINTS_EXPIRY_DAYS"],
            wechat_appid=werun_appid(settings),
        )

    def cap_g(self, kind: ActionKind) -> int:
        """Grams of trips of `kind` credited at most per day."""
        return dict(self.daily_cap_g)[kind]
