"""The database base, engine and session factory shared by every layer that keeps records."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from engine.codec import new_token
from engine.pool_ping import IDLE_PING_SECONDS, ping_when_idle
from engine.transactions import ReadCommittingSession, track_writes

# Stable constraint names, so Alembic migrations and the models name them the same on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def new_id(prefix: str) -> str:
    """A readable, globally unique string id such as ``os_3f9c...``."""
    return f"{prefix}_{new_token()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Writers queue instead of failing at once when the in-process worker and the API meet.
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def holds_writes(session: Session) -> bool:
    """Whether the session's open transaction has written, or will write at its next flush, anything.

    On SQLite the driver knows: it begins a transaction only at the first write, and SQLite has one
    writer, so a second connection would wait for this one. Elsewhere any open transaction may have.
    """
    if session.new or session.dirty or session.deleted:
        return True
    if not session.in_transaction():
        return False
    if session.get_bind().dialect.name != "sqlite":
        return True
    raw = session.connection().connection.dbapi_connection
    return bool(getattr(raw, "in_transaction", True))


_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def _lean_savepoints(engine: Engine) -> None:
    """Savepoints at one statement each. SQLAlchemy compiles SAVEPOINT anew every time (it has no
    cache key), and the driver opens one around every action a flow runs, so they go out as text. And
    a savepoint that succeeded is not released: it ends with its transaction just the same (COMMIT or
    ROLLBACK ends every savepoint inside), nothing ever rolls back to it once SQLAlchemy closed it, and
    on a server each RELEASE would be one more round trip."""
    dialect = engine.dialect
    default_savepoint, default_rollback = dialect.do_savepoint, dialect.do_rollback_to_savepoint

    def savepoint(connection: Any, name: str) -> None:
        if not _PLAIN_NAME.fullmatch(name):
            return default_savepoint(connection, name)
        connection.exec_driver_sql(f"SAVEPOINT {name}")

    def release(connection: Any, name: str) -> None:
        return None

    def rollback_to(connection: Any, name: str) -> None:
        if not _PLAIN_NAME.fullmatch(name):
            return default_rollback(connection, name)
        connection.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {name}")

    # Instance attributes, so only this engine's dialect changes.
    dialect.do_savepoint = savepoint  # type: ignore[method-assign]
    dialect.do_release_savepoint = release  # type: ignore[method-assign]
    dialect.do_rollback_to_savepoint = rollback_to  # type: ignore[method-assign]


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL mode and foreign keys on every connection. A server's
    pooled connections are pinged before use once idle ``ping_after_idle`` seconds (engine.pool_ping)."""
    ping_after = kwargs.pop("ping_after_idle", IDLE_PING_SECONDS)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        _lean_savepoints(engine)
        track_writes(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        ping_when_idle(engine, ping_after)
    _lean_savepoints(engine)
    track_writes(engine)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, class_=ReadCommittingSession, expire_on_commit=False, future=True)


class UnitOfWork:
    """One business transaction: commits only when told to, rolls back otherwise (as in Cosmic Python)."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use it as a context manager")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._session_factory()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._session is not None
        try:
            self._session.rollback()
        finally:
            self._session.close()
            self._session = None

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


@contextmanager
def unit_of_work(session_factory: sessionmaker[Session]) -> Iterator[UnitOfWork]:
    with UnitOfWork(session_factory) as uow:
        yield uow


class Database:
    """A connected database: its URL, engine and session factory, made once per process."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.session_factory = make_session_factory(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def dispose(self) -> None:
        self.engine.dispose()
