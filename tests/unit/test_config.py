"""Settings: defaults, environment parsing, and production refusals."""

from pathlib import Path

import pytest

from config import SETTINGS, ConfigurationError, load_settings
from config.settings_table import rewrite

README = Path(__file__).resolve().parents[2] / "README.md"


def test_embedded_default_uses_sqlite_and_sandbox():
    values = load_settings("default", environ={})
    assert values["DATABASE_URL"].startswith("sqlite:///")
    assert values["DATABASE_URL"].endswith("instance/carbon.sqlite3")
    assert values["REDIS_URL"] == ""
    assert values["PAYMENT_PROVIDER"] == "sandbox"


def test_environment_values_are_parsed():
    values = load_settings(
        "default", environ={"RESERVATION_TTL_S": "60", "DATABASE_URL": "postgres://u@h/db"}
    )
    assert values["RESERVATION_TTL_S"] == 60
    assert values["DATABASE_URL"] == "postgresql+psycopg://u@h/db"


def test_production_refuses_demo_stand_ins_and_names_each():
    with pytest.raises(ConfigurationError) as info:
        load_settings("production", environ={})
    message = str(info.value)
    for missing in ("DATABASE_URL", "REDIS_URL", "WECHAT_APPID", "WECHAT_SECRET", "SECRET_KEY", "sandbox"):
        assert missing in message


def test_production_accepts_a_complete_configuration():
    env = {
        "DATABASE_URL": "postgresql://app@db/carbon",
        "REDIS_URL": "redis://cache:6379/0",
        "SECRET_KEY": "x" * 40,
        "WECHAT_APPID": "wx123",
        "WECHAT_SECRET": "s",
        "WECHATPAY_MCHID": "1900000001",
        "PAYMENT_PROVIDER": "wechatpay_v2",
        "WECHATPAY_API_KEY": "k" * 32,
    }
    values = load_settings("production", environ=env)
    assert values["WECHAT_SANDBOX_LOGIN"] is False


def test_unknown_profile_is_refused():
    with pytest.raises(ConfigurationError):
        load_settings("staging", environ={})


def test_every_setting_is_documented_in_the_readme():
    readme = README.read_text(encoding="utf-8")
    undocumented = [s.name for s in SETTINGS if f"`{s.name}`" not in readme]
    assert undocumented == []
    # The table is the declared list itself: `python -m config.settings_table --write` refreshes it.
    assert rewrite(readme) == readme
