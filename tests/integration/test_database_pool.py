"""The connection pool pings only connections that sat idle, and replaces one the server dropped."""

from __future__ import annotations

from sqlalchemy import text

from models import database


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(url: str, pid: int) -> None:
    killer = database.make_engine(url, 1)
    try:
        with killer.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            connection.commit()
    finally:
        killer.dispose()


def test_a_connection_dropped_while_idle_is_replaced_before_use(pg_url, monkeypatch):
    from config import normalise_database_url

    url = normalise_database_url(pg_url)
    engine = database.make_engine(url, 1)
    try:
        first = _backend_pid(engine)
        _terminate(url, first)
        monkeypatch.setattr(database, "IDLE_PING_S", 0.0)
        assert _backend_pid(engine) != first  # pinged, found dead, replaced: no error reaches the caller
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(pg_url, monkeypatch):
    from config import normalise_database_url

    pings: list[object] = []
    real_alive = database._alive
    monkeypatch.setattr(
        database, "_alive", lambda connection: pings.append(connection) or real_alive(connection)
    )
    engine = database.make_engine(normalise_database_url(pg_url), 1)
    try:
        _backend_pid(engine)
        monkeypatch.setattr(database, "IDLE_PING_S", 3600.0)
        for _ in range(3):
            _backend_pid(engine)
        assert pings == []
        monkeypatch.setattr(database, "IDLE_PING_S", 0.0)
        _backend_pid(engine)
        assert len(pings) == 1
    finally:
        engine.dispose()
