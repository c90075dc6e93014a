"""What the service refuses to start with: unsafe production values, and numbers that would break it anywhere."""

from __future__ import annotations

import pytest

from config import TIER_SETTINGS, ConfigurationError, load_settings
from config.safety import NUMBER_BOUNDS
from tests.support.settings import PRODUCTION_ENV


def refusal(profile: str, **env: str) -> str:
    base = PRODUCTION_ENV if profile == "production" else {}
    with pytest.raises(ConfigurationError) as info:
        load_settings(profile, environ={**base, **env})
    return str(info.value)


@pytest.mark.parametrize("key", ["", "x", "x" * 40, "dev-only-secret", "correct-horse-battery", "ab" * 20])
def test_production_refuses_a_weak_secret_key(key):
    assert "SECRET_KEY must be a random value" in refusal("production", SECRET_KEY=key)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://127.0.0.1:5000",
        "https://127.0.0.1",
        "https://127.8.0.1:8443",
        "https://localhost",
        "https://api.localhost/",
        "https://[::1]:5000",
        "https://0.0.0.0",
        "https://10.0.0.5",
        "https://192.168.1.10",
        "https://169.254.169.254",
        "http://carbon.example.cn",
        "carbon.example.cn",
        "//carbon.example.cn",
        "https://carbon.example.cn/?a=1",
    ],
)
def test_production_refuses_a_public_base_url_nobody_outside_can_reach(url):
    assert f"PUBLIC_BASE_URL={url!r}" in refusal("production", PUBLIC_BASE_URL=url)


@pytest.mark.parametrize("token", ["", "short"])
def test_production_refuses_metrics_without_a_real_token(token):
    assert "METRICS_TOKEN must be set" in refusal("production", METRICS_TOKEN=token)


@pytest.mark.parametrize("value", ["false", "0", "off"])
def test_production_refuses_rate_limits_off(value):
    assert "RATELIMIT_ENABLED=false is not allowed" in refusal("production", RATELIMIT_ENABLED=value)


@pytest.mark.parametrize("ttl", ["-1", "0", "59", str(10**12)])
@pytest.mark.parametrize("profile", ["production", "default", "testing"])
def test_an_unusable_token_lifetime_is_refused_in_every_profile(profile, ttl):
    assert f"TOKEN_TTL_S={ttl} is out of range" in refusal(profile, TOKEN_TTL_S=ttl)


def test_one_message_lists_every_problem():
    message = refusal(
        "production",
        SECRET_KEY="x",
        PUBLIC_BASE_URL="http://127.0.0.1:5000",
        METRICS_TOKEN="",
        TOKEN_TTL_S="-1",
        RATELIMIT_ENABLED="false",
        STEPS_DAILY_CAP="many",
    )
    for name in (
        "SECRET_KEY",
        "PUBLIC_BASE_URL",
        "METRICS_TOKEN",
        "TOKEN_TTL_S",
        "RATELIMIT_ENABLED",
        "STEPS_DAILY_CAP",
    ):
        assert f"  - {name}" in message, name
    assert message.count("\n  - ") == 6


@pytest.mark.parametrize(("name", "bounds"), sorted(NUMBER_BOUNDS.items()))
def test_every_numeric_setting_is_kept_in_its_range(name, bounds):
    least, most = bounds
    for bad in (least - 1, most * 2 + 1, float("nan"), float("inf")):
        value = str(bad if isinstance(bad, float) or isinstance(least, float) else int(bad))
        assert f"{name}=" in refusal("default", **{name: value}), value
    if name not in TIER_SETTINGS:  # tiers must also rise from one to the next
        assert load_settings("default", environ={name: str(least)})[name] == least


def test_defaults_are_in_range_and_unreadable_values_are_named():
    load_settings("default", environ={})
    message = refusal("default", RESERVATION_TTL_S="15m", RATELIMIT_ENABLED="flase", WECHAT_TIMEOUT_S="")
    assert "RESERVATION_TTL_S='15m' cannot be read" in message
    assert "RATELIMIT_ENABLED='flase' cannot be read" in message  # a typo never turns limits off
    assert "WECHAT_TIMEOUT_S='' cannot be read" in message


def test_the_app_factory_refuses_an_unsafe_production(monkeypatch):
    from api.app import create_app

    for name, value in {**PRODUCTION_ENV, "SECRET_KEY": "x"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app("production")
