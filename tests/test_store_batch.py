"""A batch runs its statements in order in the caller's transaction, on PostgreSQL in one round
trip; its answers are read once it has run, and a failure is SQLAlchemy's error for the very
statement that failed, the statements before it having run."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from connector.store.batch import Batch
from connector.store.bulk import param
from connector.store.engine import make_engine
from connector.store.tables import accounts

INSERT = "INSERT INTO accounts (id, created_at) VALUES ({id}, '2026-01-05 00:00:00+00:00')"


def _insert(engine: Engine) -> str:
    return INSERT.format(id=param(engine.dialect.name, "id"))


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(accounts)).scalar_one())


def test_statements_run_in_order_and_answer_after_the_batch(engine: Engine) -> None:
    with engine.begin() as conn:
        with Batch(conn) as batch:
            batch.execute(_insert(engine), {"id": "a1"})
            batch.execute(_insert(engine), {"id": "a2"})
            found = batch.execute("SELECT id FROM accounts ORDER BY id")
            if batch.dialect == "postgresql":  # still on its way
                with pytest.raises(RuntimeError, match="after it has run"):
                    found.rows()
        assert found.rows() == [("a1",), ("a2",)]
        assert found.ok
    assert _count(engine) == 2


def test_a_failure_names_its_statement_and_those_before_it_ran(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("SAVEPOINT before")
        sent = []
        with pytest.raises(IntegrityError) as failed, Batch(conn) as batch:
            for key in ("a1", "a1", "a3"):  # SQLite raises at the second, PostgreSQL at the end
                sent.append(batch.execute(_insert(engine), {"id": key}))
        assert [s.ok for s in sent] == [True, False, False][: len(sent)]
        assert failed.value.statement == _insert(engine)
        assert failed.value.params == {"id": "a1"}
        conn.exec_driver_sql("ROLLBACK TO SAVEPOINT before")  # the transaction goes on
        with Batch(conn) as batch:
            batch.execute(_insert(engine), {"id": "a4"})
    with engine.connect() as conn:
        assert conn.execute(select(accounts.c.id)).scalars().all() == ["a4"]


def test_one_at_a_time_runs_each_statement_when_added(engine: Engine) -> None:
    with engine.begin() as conn:
        batch = Batch(conn, together=False)
        batch.execute(_insert(engine), {"id": "a1"})
        assert batch.execute("SELECT id FROM accounts").rows() == [("a1",)]


def test_a_failure_read_while_sending_is_raised_when_the_block_ends(engine: Engine) -> None:
    """An answer read while later statements go out may carry the failure already; the block
    still runs to its end (on PostgreSQL), and the failure raised names its own statement."""
    pipelined = engine.dialect.name == "postgresql"
    reached_the_end = False
    with engine.begin() as conn:
        conn.exec_driver_sql("SAVEPOINT before")
        with pytest.raises(IntegrityError) as failed, Batch(conn) as batch:
            batch.execute(_insert(engine), {"id": "a1"})
            batch.execute(_insert(engine), {"id": "a1"})  # SQLite raises here
            for _ in range(3):
                time.sleep(0.02)  # the server's answer to the failure has come back by now
                text = param(engine.dialect.name, "text")
                batch.execute(f"SELECT CAST({text} AS TEXT)", {"text": "x" * 100_000})
            reached_the_end = True
        assert reached_the_end is pipelined
        assert failed.value.statement == _insert(engine)
        conn.exec_driver_sql("ROLLBACK TO SAVEPOINT before")


def test_a_connection_lost_in_a_batch_is_replaced(pg_url: str) -> None:
    engine = make_engine(pg_url)
    admin = make_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn, admin.connect() as other:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            conn.rollback()
            other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
            with pytest.raises(OperationalError) as lost, Batch(conn) as batch:
                batch.execute("SELECT 1")
            assert lost.value.connection_invalidated
        with engine.connect() as conn:  # the pool hands out a new connection
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()
        admin.dispose()
