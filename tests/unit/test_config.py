"""Settings: defaults, environment parsing, and production refusals."""

from pathlib import Path

import pytest

from config import SETTINGS, ConfigurationError, load_settings, sentinel_addresses
from config.settings_table import rewrite
from tests.support.settings import PRODUCTION_ENV

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
    values = load_settings("production", environ=PRODUCTION_ENV)
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


def test_redis_sentinels_are_host_port_pairs():
    values = load_settings(
        "default",
        environ={
            "REDIS_URL": "redis://:secret@carbon/2",
            "REDIS_SENTINELS": "10.0.0.1:26379, s2.internal:26380",
        },
    )
    assert values["REDIS_SENTINEL_MASTER"] == "mymaster"
    assert sentinel_addresses(values["REDIS_SENTINELS"]) == [("10.0.0.1", 26379), ("s2.internal", 26380)]


@pytest.mark.parametrize("sentinels", ["10.0.0.1", "10.0.0.1:port", ":26379", "10.0.0.1:26379,", "h:70000"])
def test_a_bad_sentinel_address_is_refused_by_name(sentinels):
    with pytest.raises(ConfigurationError, match="REDIS_SENTINELS"):
        load_settings("default", environ={"REDIS_URL": "redis://carbon/0", "REDIS_SENTINELS": sentinels})


def test_sentinels_need_redis_url_for_database_and_password():
    with pytest.raises(ConfigurationError, match="REDIS_SENTINELS needs REDIS_URL"):
        load_settings("default", environ={"REDIS_SENTINELS": "10.0.0.1:26379"})


def test_through_sentinel_the_service_and_the_rq_worker_ask_for_the_named_master():
    from redis.sentinel import SentinelConnectionPool

    from services.kernel.redis_store import connect, rq_connection_settings

    settings = load_settings(
        "default",
        environ={
            "REDIS_URL": "redis://:secret@ignored-host:1/2",
            "REDIS_SENTINELS": "10.0.0.1:26379,10.0.0.2:26379",
            "REDIS_SENTINEL_MASTER": "carbon",
            "REDIS_SENTINEL_PASSWORD": "sentinel-secret",
        },
    )
    pool = connect(settings).connection_pool  # no connection is made until a command runs
    assert isinstance(pool, SentinelConnectionPool) and pool.service_name == "carbon"
    assert pool.connection_kwargs["db"] == 2 and pool.connection_kwargs["password"] == "secret"
    sentinel = rq_connection_settings(settings)["SENTINEL"]
    assert rq_connection_settings(settings)["REDIS_URL"] is None
    assert sentinel["INSTANCES"] == [("10.0.0.1", 26379), ("10.0.0.2", 26379)]
    assert (sentinel["MASTER_NAME"], sentinel["DB"], sentinel["PASSWORD"]) == ("carbon", 2, "secret")
    assert sentinel["SENTINEL_KWARGS"] == {"password": "sentinel-secret"}


def test_without_sentinels_the_rq_worker_uses_redis_url():
    from services.kernel.redis_store import rq_connection_settings

    settings = load_settings("default", environ={"REDIS_URL": "redis://cache:6379/0"})
    assert rq_connection_settings(settings) == {"REDIS_URL": "redis://cache:6379/0", "SENTINEL": None}
