"""Statements straight through libpq (the burn writer's path on PostgreSQL): literals that arrive
as they were sent, statements prepared once and kept through rollbacks, the caller's transaction
joined, and failures raised as SQLAlchemy raises them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from connector.store import wire
from connector.store.engine import make_engine

ECHO = wire.Prepared("SELECT $1::text[], $2::bigint[], $3::timestamptz[], $4::text")
INSERT = wire.Prepared(
    "INSERT INTO accounts (id, created_at) VALUES ($1, '2026-01-05 00:00:00+00:00') RETURNING id"
)
COUNT = wire.Prepared("SELECT count(*) FROM accounts WHERE id = $1")


@pytest.fixture
def pg(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url, pool_size=1, max_overflow=1)  # one connection, unless two
    yield engine
    engine.dispose()


def _ours_prepared(engine: Engine) -> set[str]:
    """What this session holds prepared; committed, so that no rollback deallocates anything."""
    with engine.connect() as conn:
        names = conn.exec_driver_sql("SELECT name FROM pg_prepared_statements").scalars().all()
        conn.commit()
    return {name for name in names if name.startswith("creditsync_")}


storable_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
instants = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(storable_text, max_size=8),
    numbers=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=8),
    moments=st.lists(instants, max_size=8),
    single=storable_text,
)
def test_literals_arrive_as_they_were_sent(
    pg: Engine, texts: list[str], numbers: list[int], moments: list[datetime], single: str
) -> None:
    with pg.begin() as conn:
        params = (wire.texts(texts), wire.integers(numbers), wire.instants(moments))
        ((row,),) = wire.run(conn, [(ECHO, (*params, wire.text(single)))])
    assert row == (texts, numbers, moments, single)


def test_text_holding_a_nul_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match="NUL"):
        wire.text("a\x00b")
    with pytest.raises(ValueError, match="NUL"):
        wire.texts(["ok", "a\x00b"])


def test_statements_join_the_transaction_already_open(pg: Engine) -> None:
    with pg.connect() as conn:
        conn.execute(text("INSERT INTO accounts (id, created_at) VALUES ('t1', now())"))
        ((count,),) = wire.run(conn, [(COUNT, (wire.text("t1"),))])
        assert count == (1,)
        conn.rollback()
        ((count,),) = wire.run(conn, [(COUNT, (wire.text("t1"),))])
        assert count == (0,)  # the insert and the first read were one transaction
        conn.rollback()


def test_statements_stay_prepared_through_rollbacks_and_savepoints(pg: Engine) -> None:
    with pg.begin() as conn:
        wire.run(conn, [(COUNT, (wire.text("x"),))])
    with pytest.raises(IntegrityError), pg.begin() as conn:
        wire.run(conn, [(INSERT, (wire.text("dup"),)), (INSERT, (wire.text("dup"),))])
    with pg.begin() as conn:
        for _ in range(6):  # what psycopg would have prepared, and then deallocated with ours
            conn.execute(text("SELECT count(*) FROM accounts"))
        savepoint = conn.begin_nested()
        conn.execute(text("SELECT 1"))
        savepoint.rollback()
    with pg.connect() as conn:
        conn.execute(text("SELECT count(*) FROM accounts"))  # returned with a rollback
    assert _ours_prepared(pg) == {COUNT.name.decode(), INSERT.name.decode()}


def test_statements_a_session_lost_are_prepared_again_by_the_call_that_finds_out(
    pg: Engine,
) -> None:
    with pg.begin() as conn:
        wire.run(conn, [(COUNT, (wire.text("x"),))])
        conn.exec_driver_sql("DEALLOCATE ALL")  # from outside: nothing here does it
    with pg.begin() as conn:  # the call opens its transaction: it starts it again
        ((count,),) = wire.run(conn, [(COUNT, (wire.text("x"),))])
        conn.execute(text("INSERT INTO accounts (id, created_at) VALUES ('kept', now())"))
    assert count == (0,)
    assert _ours_prepared(pg) == {COUNT.name.decode()}
    with pg.connect() as conn:  # and the transaction it started again is the one committed
        ((count,),) = wire.run(conn, [(COUNT, (wire.text("kept"),))])
        conn.rollback()
    assert count == (1,)


def test_inside_a_transaction_opened_before_a_lost_statement_fails_that_transaction_only(
    pg: Engine,
) -> None:
    with pg.begin() as conn:
        wire.run(conn, [(COUNT, (wire.text("x"),))])
        conn.exec_driver_sql("DEALLOCATE ALL")
    with pytest.raises(ProgrammingError, match="does not exist"), pg.begin() as conn:
        conn.execute(text("INSERT INTO accounts (id, created_at) VALUES ('lost', now())"))
        wire.run(conn, [(COUNT, (wire.text("x"),))])  # the insert must not be undone unseen
    with pg.begin() as conn:
        ((count,),) = wire.run(conn, [(COUNT, (wire.text("lost"),))])
    assert count == (0,)
    assert _ours_prepared(pg) == {COUNT.name.decode()}


def test_a_statement_that_cannot_be_prepared_fails_alike_each_time_leaving_nothing(
    pg: Engine,
) -> None:
    broken = wire.Prepared("SELEC count(*) FROM accounts WHERE id = $1")
    for _ in range(2):  # the second time too it is prepared, and fails the same way
        with pytest.raises(ProgrammingError, match="syntax error"), pg.begin() as conn:
            wire.run(conn, [(broken, (wire.text("x"),)), (COUNT, (wire.text("x"),))])
    assert _ours_prepared(pg) == set()
    with pg.begin() as conn:
        ((count,),) = wire.run(conn, [(COUNT, (wire.text("x"),))])
    assert count == (0,)


def test_behind_pgbouncer_nothing_is_prepared(pg_url: str) -> None:
    engine = make_engine(f"{pg_url}?pgbouncer=true")
    try:
        with engine.begin() as conn:
            ((count,),) = wire.run(conn, [(COUNT, (wire.text("x"),))])
        assert count == (0,)
        assert _ours_prepared(engine) == set()
    finally:
        engine.dispose()


def test_a_failure_is_sqlalchemys_error_for_the_statement_that_failed(pg: Engine) -> None:
    with pytest.raises(IntegrityError) as failed, pg.begin() as conn:
        wire.run(conn, [(INSERT, (wire.text("dup"),)), (INSERT, (wire.text("dup"),))])
    assert failed.value.statement == INSERT.sql.decode()
    assert "pk_accounts" in str(failed.value.orig)
    with pg.begin() as conn:  # nothing of it stayed, and the connection serves again
        ((count,),) = wire.run(conn, [(COUNT, (wire.text("dup"),))])
    assert count == (0,)


def test_a_connection_lost_is_invalidated_and_replaced(pg: Engine) -> None:
    with pytest.raises(OperationalError) as failed, pg.begin() as conn:
        with pg.connect() as other:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        wire.run(conn, [(COUNT, (wire.text("x"),))])
    assert failed.value.connection_invalidated
    with pg.begin() as conn:
        ((count,),) = wire.run(conn, [(COUNT, (wire.text("x"),))])
    assert count == (0,)
