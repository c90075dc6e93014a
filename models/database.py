"""Engine and session handling: one scoped session per thread, units of work for services."""

from __future__ import annotations

import enum
import hashlib
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Compiled, Connection, Engine, Executable, create_engine, event, exc, text
from sqlalchemy.orm import Session, scoped_session, sessionmaker

_factory = sessionmaker(expire_on_commit=False)
db_session: scoped_session[Session] = scoped_session(_factory)
_engine: Engine | None = None
# A pooled connection idle for longer than this is pinged before it is handed out again.
IDLE_PING_S = 10.0


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
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, **kwargs)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection's liveness only when it has sat idle, not at every checkout.

    A ping at every checkout (`pool_pre_ping`) costs one round trip per unit of work, a quarter of a
    short request's time. A connection in steady use is alive; one idle for `IDLE_PING_S` may have
    been dropped by the server or a proxy, so it is pinged, and a dead one is replaced before anyone
    uses it (the pool retries the checkout on `DisconnectionError`). A connection that dies while
    in use still fails its statement with `connection_invalidated` set, and the pool then replaces
    its idle connections.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_S:
            return
        if not _alive(dbapi_connection):
            raise exc.DisconnectionError("an idle pooled connection was dropped")


def _alive(dbapi_connection: Any) -> bool:
    """One round trip: does the server still answer on this connection?"""
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        if not dbapi_connection.autocommit:
            dbapi_connection.rollback()
    except Exception:
        return False
    return True


def configure(url: str, pool_size: int = 5) -> Engine:
    """Bind the session factory to a new engine for `url`."""
    global _engine
    if _engine is not None:
        _engine.dispose()
    _engine = make_engine(url, pool_size)
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

    A connection the server has dropped fails the statement with `DBAPIError.connection_invalidated`
    set; the statement may or may not have landed, so the caller must find out (a unique key it
    wrote tells) before it writes again.
    """
    with single_read() as connection:
        yield connection


def read_session() -> Session:
    """The current thread's session, for queries that change nothing."""
    return db_session()


def serialize_in(session: Session, name: str) -> None:
    """Serialise one kind of writer until the caller's transaction ends (a PostgreSQL advisory lock).

    SQLite allows one writer at a time anyway, so there it does nothing.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(SERIALIZE, {"key": serial_key(name)})


# The lock `serialize_in` takes, for a statement list of `pipelined_transaction`: parameter `key`.
SERIALIZE = text("SELECT pg_advisory_xact_lock(:key)")


def serial_key(name: str) -> int:
    """The advisory lock key that serialises the writers called `name`."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def pipelined_transaction(steps: Sequence[tuple[Executable, Mapping[str, Any]]]) -> list[list[tuple]]:
    """PostgreSQL: BEGIN, the statements `steps`, COMMIT, sent in one pipeline; each step's rows.

    psycopg's pipeline mode sends every statement without waiting for the one before, so the whole
    transaction costs one round trip, and no lock it takes waits on this process between statements:
    the server runs them one after another, each seeing what the ones before it did (each statement
    of a READ COMMITTED transaction reads a fresh snapshot). Errors come back as SQLAlchemy's
    exceptions (IntegrityError, OperationalError with `connection_invalidated` when the connection
    broke), with the transaction rolled back. Enum parameters are sent as their values.
    """
    compiled = [(_compiled(statement), parameters) for statement, parameters in steps]
    with single_read() as connection:
        raw = connection.connection.dbapi_connection
        results: list[list[tuple]] = []
        sql = ""
        try:
            with raw.pipeline():
                raw.execute("BEGIN")
                cursors = []
                for statement, parameters in compiled:
                    sql = statement.string
                    values = statement.construct_params(dict(parameters), _check=False)
                    cursor = raw.cursor()
                    cursor.execute(sql, {name: _plain(value) for name, value in values.items()})
                    cursors.append(cursor)
                raw.execute("COMMIT")
            for cursor in cursors:
                results.append(cursor.fetchall() if cursor.description else [])
        except raw.Error as error:
            broken = raw.closed or raw.broken
            if broken:
                connection.invalidate()
            else:
                raw.execute("ROLLBACK")
            raise exc.DBAPIError.instance(
                sql, None, error, type(raw).Error, hide_parameters=True, connection_invalidated=broken
            ) from error
        return results


_COMPILED: dict[int, tuple[Executable, Compiled]] = {}


def _compiled(statement: Executable) -> Compiled:
    """The statement compiled for this engine's dialect (psycopg's `%(name)s` parameters), once per statement."""
    cached = _COMPILED.get(id(statement))
    if cached is None or cached[0] is not statement:
        compiled = statement.compile(dialect=get_engine().dialect)
        cached = (statement, compiled)
        _COMPILED[id(statement)] = cached
    return cached[1]


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
