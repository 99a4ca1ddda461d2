"""The schema is made by the migrations alone, and they make exactly what the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from service.models import Base


def test_migrations_produce_exactly_the_models(settings):
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            differences = compare_metadata(context, Base.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert differences == []
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_events_are_append_only_on_postgres(settings, is_postgres):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    if not is_postgres:
        pytest.skip("the append-only trigger is PostgreSQL's")
    engine = create_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO events (stream, seq, at, actor_name, action, data, prev_hash, hash) "
                "VALUES ('trigger-test', 1, now(), 't', 'probe', '{}', 'x', 'y')"
            ))
        for statement in ("UPDATE events SET action = 'edited' WHERE stream = 'trigger-test'",
                          "DELETE FROM events WHERE stream = 'trigger-test'",
                          "TRUNCATE events"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        engine.dispose()
