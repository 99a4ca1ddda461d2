"""How tejun uses its database connections: reads cannot write, and a pooled connection that died while idle
(PostgreSQL restarted, an idle timeout) is replaced before a request gets it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update

from service import db as db_module
from service.db import Database, ReadOnlySessionError
from service.models import Case, User
from tests.conftest import postgres_only


def test_a_read_session_refuses_to_write_and_nothing_is_written(svc, world):
    user_id = next(iter(world.users.values()))
    with svc.db.reader() as session:
        user = session.get(User, user_id)
        name = user.display_name
        user.display_name = "changed through a read session"
        with pytest.raises(ReadOnlySessionError):
            session.flush()
    with svc.db.reader() as session, pytest.raises(ReadOnlySessionError):
        session.execute(update(User).where(User.id == user_id).values(display_name="changed by a statement"))
    with svc.db.reader() as session:
        assert session.get(User, user_id).display_name == name


def test_a_streaming_read_session_refuses_to_write_too(svc, world):
    with svc.db.reader(streaming=True) as session, pytest.raises(ReadOnlySessionError):
        session.execute(update(User).where(User.id == next(iter(world.users.values()))).values(display_name="x"))


def test_reads_on_postgresql_send_no_begin_and_no_rollback(svc, is_postgres):
    postgres_only(is_postgres)
    with svc.db.reader() as session:
        session.execute(select(func.count()).select_from(Case)).scalar_one()
        raw = session.connection().connection.dbapi_connection
        # autocommit: the statement ran outside any transaction, so there is none to end
        assert raw.autocommit and raw.info.transaction_status.name == "IDLE"
    with svc.db.transaction() as session:
        session.execute(select(func.count()).select_from(Case)).scalar_one()
        assert not session.connection().connection.dbapi_connection.autocommit


def _own_backend(database: Database) -> int:
    with database.reader() as session:
        return session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_that_died_while_idle_is_replaced_before_use(svc, is_postgres, monkeypatch):
    postgres_only(is_postgres)
    database = Database(svc.db.url, pool_size=1)
    try:
        first = _own_backend(database)
        with svc.db.transaction() as session:  # what a PostgreSQL restart does to the pooled connection
            session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)  # it has been idle long enough to be pinged
        second = _own_backend(database)  # no error: the ping found it dead and the pool connected anew
        assert second != first
    finally:
        database.dispose()


def test_only_a_connection_that_sat_idle_is_pinged(svc, is_postgres, monkeypatch):
    """A ping is a round trip before every checkout (four per task cycle with `pool_pre_ping`): only a
    connection idle for longer than IDLE_PING_SECONDS is pinged."""
    postgres_only(is_postgres)
    database = Database(svc.db.url, pool_size=1)

    def last_statement(pid: int) -> str:
        with svc.db.transaction() as session:
            return session.execute(text("SELECT query FROM pg_stat_activity WHERE pid = :pid"),
                                   {"pid": pid}).scalar_one()

    try:
        pid = _own_backend(database)
        with database.engine.connect():  # checked out again at once: no ping
            pass
        assert last_statement(pid) == "SELECT pg_backend_pid()"
        monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)
        with database.engine.connect():  # idle for longer than the limit: pinged
            pass
        assert last_statement(pid) == "SELECT 1"
    finally:
        database.dispose()
