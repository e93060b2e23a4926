"""Small SQL helpers that differ by dialect."""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import Connection, Insert, Table


def insert_ignoring_duplicates(conn: Connection, table: Table, index_elements: list[str]) -> Insert:
    """``INSERT ... ON CONFLICT (index_elements) DO NOTHING`` for the connection's dialect.

    The dialect's module is loaded when first asked for (the engine has loaded it already): a
    short command on SQLite need not load PostgreSQL's dialect."""
    dialect: Any = importlib.import_module(f"sqlalchemy.dialects.{conn.dialect.name}")
    statement: Insert = dialect.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    return statement


def lock_rows_clause(conn: Connection) -> bool:
    """Whether ``SELECT ... FOR UPDATE`` means something here (SQLite locks the whole file)."""
    return conn.dialect.name == "postgresql"
