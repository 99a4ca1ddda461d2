"""Database engine and the unit of work that wraps every use case in one transaction."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

# A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out (see _ping_if_idle).
IDLE_PING_SECONDS = 2.0


class ReadOnlySessionError(RuntimeError):
    """Something tried to write through a read session (which runs in autocommit on PostgreSQL)."""


def make_engine(url: str, pool_size: int = 5) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _note_checkin(_dbapi_connection, record) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    """Pessimistic disconnect handling, only for connections that sat idle.

    `pool_pre_ping` pings on every checkout: a round trip, and CPU on both sides, four times per task cycle. A
    connection in steady use needs none: if PostgreSQL restarted under it, the first statement fails, SQLAlchemy
    sees the disconnect and invalidates every connection of the pool (`Pool._invalidate`), and the request
    answers 503 (what the fault drill allows). A connection that sat idle for longer than IDLE_PING_SECONDS may
    have outlived a restart nobody noticed, so it is pinged, and a dead one is replaced here
    (DisconnectionError makes the pool retry with a fresh connection)."""
    if time.monotonic() - record.info.get("checked_in_at", 0.0) <= IDLE_PING_SECONDS:
        return
    try:
        # in autocommit, as SQLAlchemy's own ping does: the connection must come back without an open transaction
        was = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        finally:
            dbapi_connection.autocommit = was
    except Exception as error:  # the driver's own error classes: any failure means the connection is gone
        raise exc.DisconnectionError(str(error)) from error


def _refuse_flush(_session, _context, _instances) -> None:
    raise ReadOnlySessionError("a read session does not write: use svc.db.transaction()")


def _refuse_writes(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlySessionError("a read session does not write: use svc.db.transaction()")


class Database:
    """Owns the engine and hands out sessions; one per app (and one per worker process)."""

    def __init__(self, url: str, pool_size: int = 5):
        self.url = url
        self.engine = make_engine(url, pool_size)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Reads on PostgreSQL run in autocommit: no BEGIN and no ROLLBACK round trip around them. Under READ
        # COMMITTED every statement takes its own snapshot anyway, so a read transaction gave no consistency
        # across statements that autocommit loses. Writing through such a session would commit at once, so
        # flushes and ORM writes are refused.
        read_bind = self.engine.execution_options(isolation_level="AUTOCOMMIT") if self.is_postgres else self.engine
        self.readers = sessionmaker(read_bind, expire_on_commit=False)
        self.streaming_readers = sessionmaker(self.engine, expire_on_commit=False)
        for makers in (self.readers, self.streaming_readers):  # on SQLite too, so that tests find a misuse there
            event.listen(makers, "before_flush", _refuse_flush)
            event.listen(makers, "do_orm_execute", _refuse_writes)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work: commit when the block ends normally, roll back on any exception."""
        session = self.sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @contextmanager
    def reader(self, *, streaming: bool = False) -> Iterator[Session]:
        """A session for queries only: it cannot write (on PostgreSQL it runs in autocommit). `streaming` reads
        in a transaction instead, which PostgreSQL's server-side cursors (`yield_per`) need."""
        session = self.streaming_readers() if streaming else self.readers()
        try:
            yield session
        finally:
            # close() gives the connection back and keeps loaded objects readable
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
