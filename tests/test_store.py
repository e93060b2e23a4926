from pathlib import Path

from sqlalchemy import Engine, inspect

from connector.store.migrate import current_revision, head_revision, is_current
from connector.store.schema import metadata


def test_migrations_create_every_table(engine: Engine) -> None:
    assert is_current(engine)
    assert current_revision(engine) == head_revision()
    present = set(inspect(engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= present


def test_a_pgbouncer_url_turns_startup_options_off_and_psycopg_never_prepares(pg_url: str) -> None:
    """psycopg's preparing is off on both (the burn writer's own prepared statements, kept only
    where no PgBouncer stands between, are ``tests/test_wire.py``'s)."""
    from sqlalchemy import text

    from connector.store.engine import make_engine

    direct = make_engine(pg_url)
    pooled = make_engine(f"{pg_url}?pgbouncer=true")
    try:
        with direct.connect() as conn:
            assert conn.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
            assert conn.connection.dbapi_connection.prepare_threshold is None  # type: ignore[union-attr]
        with pooled.connect() as conn:
            assert conn.execute(text("SHOW plan_cache_mode")).scalar() == "auto"
            assert conn.connection.dbapi_connection.prepare_threshold is None  # type: ignore[union-attr]
        assert "pgbouncer" not in str(pooled.url)
    finally:
        direct.dispose()
        pooled.dispose()


def test_the_quick_head_reading_agrees_with_alembic() -> None:
    from connector.store.migrate import _alembic_head, head_revision

    assert head_revision() == _alembic_head()


def test_a_database_never_migrated_is_not_current(tmp_path: Path) -> None:
    from connector.store.engine import make_engine
    from connector.store.migrate import current_revision, head_revision, is_current, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert current_revision(engine) is None and not is_current(engine)
        upgrade(engine)
        assert current_revision(engine) == head_revision() and is_current(engine)
    finally:
        engine.dispose()


def test_burns_run_through_a_pgbouncer_url(pg_url: str) -> None:
    """The burn path's pipelined reads and array writes need no prepared statement."""
    from datetime import timedelta

    from connector.ledger.service import Ledger
    from connector.store.engine import make_engine
    from tests.ledger_helpers import T0, burn_request, grant_request

    pooled = make_engine(f"{pg_url}?pgbouncer=true")
    try:
        ledger = Ledger(pooled)
        ledger.set_rate("bouncer-query", "2", T0 - timedelta(days=1))
        ledger.grant(grant_request("bouncer-acct", 100, object_id="inv_bouncer"))
        requests = [
            burn_request(f"bouncer-{n}", 5, account_id="bouncer-acct", action="bouncer-query")
            for n in range(8)  # more than psycopg's prepare threshold of 5, were it on
        ]
        outcomes = ledger.burn_batch(requests[:4])
        results = [ledger.burn(r) for r in requests[4:]]
        assert [o.result.balance for o in outcomes if o.result] == [90, 80, 70, 60]
        assert [r.balance for r in results] == [50, 40, 30, 20]
        assert ledger.balance("bouncer-acct", T0 + timedelta(hours=1)).total == 20
    finally:
        pooled.dispose()
