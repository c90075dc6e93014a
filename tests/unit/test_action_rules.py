"""Rules of low-carbon actions without I/O: the methodology data, the arithmetic, anti-cheat, settings, WeRun parsing."""

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from models import ActionKind
from services.actions import methodology
from services.actions.action_credit import points_for_reduction
from services.actions.action_policy import ActionPolicy, parse_daily_caps
from services.actions.anti_cheat import (
    FLAT_STEPS_RUN,
    STEPS_ABOVE_LIMIT,
    flat_run_days,
    step_flags,
    trip_flags,
)
from services.actions.werun import StaleWeRunData, UndecryptableWeRunData, WeRunDay, read_werun
from services.kernel.beijing_time import beijing_date, day_start_utc, week_id, week_start
from tests.support.werun import APPID, encrypt, new_session_key, steps_list

NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


def test_every_factor_in_the_methodology_file_carries_its_source():
    data = json.loads(methodology.METHODOLOGY_FILE.read_text(encoding="utf-8"))
    for kind, entry in data["trips"].items():
        assert entry["source"]["title"] and entry["source"]["year"] == 2021, kind
        assert entry["source"]["publisher"]
    walking = data["walking"]
    assert walking["credited_as"] in data["trips"]
    assert {"step_length_rule", "heights", "derivation"} <= walking["stride_source"].keys()


def test_factors_are_the_shenzhen_figures():
    table = methodology.factors()
    assert str(table[ActionKind.BUS].saving_g_per_pkm) == "26.9"
    assert str(table[ActionKind.METRO].saving_g_per_pkm) == "46.8"
    assert str(table[ActionKind.STEPS].stride_m) == "0.65"
    assert table[ActionKind.STEPS].saving_g_per_pkm == table[ActionKind.BUS].saving_g_per_pkm


def test_reductions_are_rounded_half_up_once_at_the_end():
    assert methodology.reduction_for_trip(ActionKind.BUS, 5_000) == 135  # 134.5 g
    assert methodology.reduction_for_trip(ActionKind.METRO, 12_500) == 585
    assert methodology.reduction_for_steps(10_000) == 175  # 6.5 km x 26.9 = 174.85
    assert methodology.reduction_for_steps(1) == 0
    assert methodology.reduction_for(ActionKind.STEPS, 20_000) == 350


def test_points_are_per_kilogram_rounded_down():
    assert points_for_reduction(999, 10) == 9
    assert points_for_reduction(99, 10) == 0
    assert points_for_reduction(2_500, 1) == 2


def days(*counts, start=date(2026, 11, 1)):
    return [WeRunDay(start + timedelta(days=i), n) for i, n in enumerate(counts)]


def test_a_run_of_equal_counts_is_flagged_from_its_first_day():
    flagged = flat_run_days(days(9_000, 8_000, 8_000, 8_000, 8_000, 8_000, 7_000), 5)
    assert flagged == {date(2026, 11, d) for d in range(2, 7)}


def test_short_runs_zero_runs_and_gaps_are_not_flagged():
    assert flat_run_days(days(8_000, 8_000, 8_000, 8_000), 5) == set()
    assert flat_run_days(days(0, 0, 0, 0, 0, 0), 5) == set()
    gap = [*days(8_000, 8_000, 8_000), *days(8_000, 8_000, start=date(2026, 11, 5))]
    assert flat_run_days(gap, 5) == set()


def test_step_and_trip_flags():
    day = WeRunDay(date(2026, 11, 1), 60_001)
    assert step_flags(day, {day.day}, 60_000) == [STEPS_ABOVE_LIMIT, FLAT_STEPS_RUN]
    assert step_flags(WeRunDay(day.day, 60_000), set(), 60_000) == []
    assert trip_flags(60_000, 60) == []
    assert trip_flags(60_001, 60) == ["trip_too_long"]


def test_daily_caps_are_parsed_and_checked():
    assert parse_daily_caps("bus=1500, metro=2500") == {ActionKind.BUS: 1_500, ActionKind.METRO: 2_500}
    for wrong in (
        "bus=1500",
        "bus=1500,metro=lots",
        "bus=1500,metro=2500,steps=9",
        "bus:1,metro:2",
        "bus=-1,metro=2",
    ):
        with pytest.raises(ValueError, match="ACTION_DAILY_CAP_G"):
            parse_daily_caps(wrong)


def test_the_policy_reads_the_default_settings():
    from config import load_settings

    policy = ActionPolicy.from_settings(load_settings("testing", environ={}))
    assert policy.cap_g(ActionKind.METRO) == 2_500
    assert (policy.points_per_kg, policy.steps_daily_cap, policy.steps_flag_above) == (10, 20_000, 60_000)


def test_beijing_days_and_weeks():
    assert beijing_date(datetime(2026, 11, 21, 16, 0, tzinfo=UTC)) == date(2026, 11, 22)
    assert beijing_date(datetime(2026, 11, 21, 15, 59, tzinfo=UTC)) == date(2026, 11, 21)
    assert day_start_utc(date(2026, 11, 22)) == datetime(2026, 11, 21, 16, 0, tzinfo=UTC)
    assert week_start(date(2026, 11, 22)) == date(2026, 11, 16)  # a Sunday belongs to the week of Monday 16th
    assert week_id(date(2026, 11, 22)) == "2026-W47"


def plain(step_info, stamp=None):
    return {
        "stepInfoList": step_info,
        "watermark": {"appid": APPID, "timestamp": int(stamp or NOW.timestamp())},
    }


def test_werun_days_are_read_by_beijing_date_taking_the_highest_of_a_repeated_day():
    key = new_session_key()
    later_that_day = {"timestamp": int(datetime(2026, 11, 21, 8, tzinfo=UTC).timestamp()), "step": 7_500}
    info = [*steps_list({date(2026, 11, 20): 5_000, date(2026, 11, 21): 7_000}), later_that_day]
    payload = encrypt(plain(info), key)

    data = read_werun(payload["encryptedData"], payload["iv"], key, APPID, NOW, 600)

    assert data.days == (WeRunDay(date(2026, 11, 20), 5_000), WeRunDay(date(2026, 11, 21), 7_500))
    assert data.watermark_at == NOW


def test_a_watermark_from_the_future_or_the_past_is_refused():
    key = new_session_key()
    ahead = encrypt(plain([], NOW.timestamp() + 3600), key)
    behind = encrypt(plain([], NOW.timestamp() - 601), key)

    with pytest.raises(UndecryptableWeRunData):
        read_werun(ahead["encryptedData"], ahead["iv"], key, APPID, NOW, 600)
    with pytest.raises(StaleWeRunData):
        read_werun(behind["encryptedData"], behind["iv"], key, APPID, NOW, 600)


@pytest.mark.parametrize(
    "payload",
    [
        {"encryptedData": "not base64 at all!", "iv": "AAAAAAAAAAAAAAAAAAAAAA=="},
        {"encryptedData": "AAAA", "iv": "AAAAAAAAAAAAAAAAAAAAAA=="},
        {"encryptedData": "QUFBQUFBQUFBQUFBQUFBQQ==", "iv": "short"},
    ],
)
def test_garbage_is_undecryptable_never_an_error(payload):
    with pytest.raises(UndecryptableWeRunData):
        read_werun(payload["encryptedData"], payload["iv"], new_session_key(), APPID, NOW, 600)


def test_json_without_a_watermark_is_undecryptable():
    key = new_session_key()
    payload = encrypt({"stepInfoList": []}, key)
    with pytest.raises(UndecryptableWeRunData):
        read_werun(payload["encryptedData"], payload["iv"], key, APPID, NOW, 600)


def test_current_time_payloads_pass_the_default_age():
    key = new_session_key()
    payload = encrypt(plain([], time.time()), key)
    assert read_werun(payload["encryptedData"], payload["iv"], key, APPID, datetime.now(UTC), 600).days == ()
