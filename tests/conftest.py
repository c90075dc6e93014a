"""Shared fixtures: an app on SQLite + in-process Redis (fast), and one on real PostgreSQL + Redis.

The PostgreSQL database and the Redis database number are per pytest-xdist worker, so workers
never see each other's rows. Both databases are built by `alembic upgrade head`, as in production.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

import models
from api import create_app
from config import normalise_database_url
from models import database
from tests.fakes.wechatpay_server import FakeWeChatPay, MerchantKeys, PlatformKeys
from tests.support.clock import wait_out_beijing_midnight

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.fakes.wechat_api"]

DEFAULT_PG = "postgresql://root@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379"


def _worker_index(worker_id: str) -> int:
    return 0 if worker_id == "master" else int(worker_id.removeprefix("gw"))


def alembic_config(url: str) -> Config:
    """The project's Alembic configuration aimed at `url`."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    cfg.attributes["configure_logging"] = False
    return cfg


def alembic_upgrade(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def clear_tables() -> None:
    engine = database.get_engine()
    database.db_session.remove()
    tables = list(reversed(models.Base.metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    alembic_upgrade(url)
    return url


@pytest.fixture(scope="session")
def pg_url(worker_id: str, testrun_uid: str) -> Iterator[str]:
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    # Unique per run and worker, so that concurrent runs on one server never share a database.
    name = f"carbon_test_{testrun_uid[:8]}_{_worker_index(worker_id)}"
    admin = create_engine(normalise_database_url(base), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.fail(f"PostgreSQL at {base} is not usable ({exc}); bin/test starts one")
    finally:
        admin.dispose()
    url = base.rsplit("/", 1)[0] + "/" + name
    alembic_upgrade(normalise_database_url(url))
    yield url
    with contextlib.suppress(RuntimeError):  # no test of this worker configured the database
        database.get_engine().dispose()
    admin = create_engine(normalise_database_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url(worker_id: str, testrun_uid: str) -> str:
    base = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS).rstrip("/")
    # Databases 1-15, spread by run and worker; database 0 is left to the service itself.
    return f"{base}/{1 + (int(testrun_uid[:6], 16) + _worker_index(worker_id)) % 15}"


def _make_app(database_url: str, redis_url: str = "", **overrides: object) -> Flask:
    return create_app(
        "testing", overrides={"DATABASE_URL": database_url, "REDIS_URL": redis_url, **overrides}
    )


@pytest.fixture
def app_overrides() -> dict[str, object]:
    """Override in a test module to change settings of the `app` / `pg_app` fixtures."""
    return {}


@pytest.fixture
def app(sqlite_url: str, app_overrides: dict[str, object]) -> Iterator[Flask]:
    flask_app = _make_app(sqlite_url, **app_overrides)
    clear_tables()
    with flask_app.app_context():
        yield flask_app
    database.db_session.remove()


@pytest.fixture
def pg_app(pg_url: str, redis_url: str, app_overrides: dict[str, object]) -> Iterator[Flask]:
    flask_app = _make_app(pg_url, redis_url, **app_overrides)
    clear_tables()
    from services.kernel.redis_store import get_redis

    get_redis().flushdb()
    with flask_app.app_context():
        yield flask_app
    database.db_session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def pg_client(pg_app: Flask) -> FlaskClient:
    return pg_app.test_client()


def bearer_token(role: models.Role, username: str) -> dict[str, str]:
    """An `Authorization` header for a new user with `role` (made directly; no login endpoint needed)."""
    from services.accounts.tokens import issue_token_in

    with database.unit_of_work() as session:
        user = models.User(role=role, username=username, display_name=username)
        session.add(user)
        session.flush()
        issued = issue_token_in(session, user, 3600)
    return {"Authorization": f"Bearer {issued.token}"}


@pytest.fixture
def admin_headers(app: Flask) -> dict[str, str]:
    return bearer_token(models.Role.ADMIN, "test-admin")


@pytest.fixture
def user_headers(app: Flask) -> dict[str, str]:
    return bearer_token(models.Role.USER, "test-user")


@pytest.fixture
def pg_admin_headers(pg_app: Flask) -> dict[str, str]:
    return bearer_token(models.Role.ADMIN, "test-admin")


# -- WeChat Pay, faked at the wire (tests/fakes/wechatpay_server.py) --

FAKE_APPID = "wxd678efh567hg6787"
FAKE_MCHID = "1900000109"


@pytest.fixture(scope="session")
def wechatpay_keys() -> tuple[MerchantKeys, PlatformKeys]:
    """RSA keys are slow to make: one merchant and one platform key set per test session."""
    return MerchantKeys.generate(FAKE_MCHID), PlatformKeys.generate()


@pytest.fixture
def fake_wechatpay(wechatpay_keys: tuple[MerchantKeys, PlatformKeys]) -> Iterator[FakeWeChatPay]:
    """A fresh loopback WeChat Pay (APIv3 + APIv2) with no trades."""
    merchant, platform = wechatpay_keys
    fake = FakeWeChatPay(
        appid=FAKE_APPID,
        mchid=FAKE_MCHID,
        apiv3_key="0123456789abcdefghijklmnopqrstuv",
        api_key="vutsrqponmlkjihgfedcba9876543210",
        merchant=merchant,
        platform=platform,
    )
    with fake:
        yield fake


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Repeat the one-line figures that fault tests report (`tests/support/live.py`), also under xdist."""
    lines = [
        value
        for report in terminalreporter.stats.get("passed", [])
        for name, value in getattr(report, "user_properties", [])
        if name == "figures"
    ]
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(str(line))


@pytest.fixture(autouse=True)
def _not_across_beijing_midnight() -> None:
    """No test starts within two minutes of Beijing midnight (see tests/support/clock.py)."""
    wait_out_beijing_midnight()
