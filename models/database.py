"""Engine and session handling: one scoped session per thread, units of work for services."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, scoped_session, sessionmaker

_factory = sessionmaker(expire_on_commit=False)
db_session: scoped_session[Session] = scoped_session(_factory)
_engine: Engine | None = None
# PostgreSQL: a second pool, in autocommit and without the liveness ping, for whole-statement writes.
_statement_engine: Engine | None = None


def make_engine(url: str, pool_size: int = 5, **kwargs: Any) -> Engine:
    """Create the engine; SQLite gets foreign keys, WAL and a busy timeout.

    Statement parameters (names, phone numbers, tokens' hashes) never appear in error messages or
    logs: `hide_parameters` keeps them out of every exception SQLAlchemy raises.
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, **kwargs)


def configure(url: str, pool_size: int = 5) -> Engine:
    """Bind the session factory to a new engine for `url` (on PostgreSQL, also the statement pool)."""
    global _engine, _statement_engine
    for engine in (_engine, _statement_engine):
        if engine is not None:
            engine.dispose()
    _engine = make_engine(url, pool_size)
    _statement_engine = None
    if _engine.dialect.name == "postgresql":
        _statement_engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            isolation_level="AUTOCOMMIT",
            hide_parameters=True,
        )
    db_session.remove()
    _factory.configure(bind=_engine)
    return _engine


def get_engine() -> Engine:
    if _engine is None:
        raise RuntimeError("database not configured")
    return _engine


def is_postgres() -> bool:
    return get_engine().dialect.name == "postgresql"


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One service call's transaction: commit once at the end, or roll back on any error."""
    session = db_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def single_read() -> Iterator[Connection]:
    """A connection in autocommit mode for one read-only statement: no BEGIN or ROLLBACK round trips."""
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection


@contextmanager
def whole_statement() -> Iterator[Connection]:
    """A connection for one write that is whole by itself: it runs in autocommit, as its own
    transaction, with no BEGIN or COMMIT round trip.

    On PostgreSQL the connection comes from a pool that skips the liveness ping (one more round trip
    per checkout). A connection the server has dropped fails the statement with
    `DBAPIError.connection_invalidated` set, and the pool then replaces its idle connections; the
    statement may or may not have landed, so the caller must find out (a unique key it wrote
    tells) before it writes again.
    """
    if _statement_engine is None:
        with single_read() as connection:
            yield connection
        return
    with _statement_engine.connect() as connection:
        yield connection


def read_session() -> Session:
    """The current thread's session, for queries that change nothing."""
    return db_session()


def serialize_in(session: Session, name: str) -> None:
    """Serialise one kind of writer until the caller's transaction ends (a PostgreSQL advisory lock).

    SQLite allows one writer at a time anyway, so there it does nothing.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
