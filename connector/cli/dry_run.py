"""``--dry-run``: do the real work, print what it did, and roll all of it back.

A preview computed by separate code drifts from what the command really does; this runs the
command's own code on a stand-in for the engine whose transactions are savepoints inside one
outer transaction, rolled back at the end. What is printed is exactly what a real run would
have done at that moment, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.engine import Dialect

T = TypeVar("T")


class _Rehearsal:
    """The part of Engine that creditsync's services use (``begin``, ``connect``,
    ``dialect``), on one connection. Anything else is missing on purpose: a service reaching
    for it would escape the rollback, so it fails instead."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.dialect: Dialect = conn.dialect

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self._conn.begin_nested():
            yield self._conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        yield self._conn


def rehearse(engine: Engine, work: Callable[[Engine], T]) -> T:
    """``work(engine)`` inside a transaction that is rolled back: its result, nothing written."""
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            return work(cast("Engine", _Rehearsal(conn)))
        finally:
            outer.rollback()
