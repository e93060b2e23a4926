from sqlalchemy import Engine, inspect

from connector.store.migrate import current_revision, head_revision, is_current
from connector.store.schema import metadata


def test_migrations_create_every_table(engine: Engine) -> None:
    assert is_current(engine)
    assert current_revision(engine) == head_revision()
    present = set(inspect(engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= present


def test_a_pgbouncer_url_turns_prepared_statements_and_startup_options_off(pg_url: str) -> None:
    from sqlalchemy import text

    from connector.store.engine import make_engine

    direct = make_engine(pg_url)
    pooled = make_engine(f"{pg_url}?pgbouncer=true")
    try:
        with direct.connect() as conn:
            assert conn.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
            assert conn.connection.dbapi_connection.prepare_threshold == 5  # type: ignore[union-attr]
        with pooled.connect() as conn:
            assert conn.execute(text("SHOW plan_cache_mode")).scalar() == "auto"
            assert conn.connection.dbapi_connection.prepare_threshold is None  # type: ignore[union-attr]
        assert "pgbouncer" not in str(pooled.url)
    finally:
        direct.dispose()
        pooled.dispose()
