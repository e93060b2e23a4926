"""Applying stored webhook deliveries after the answer, without starving the answers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

PROCESS_SHARE = 0.5  # of the time, at most, that applying deliveries may take
CHUNK_SECONDS = 0.005  # how long one chunk may hold the database (and the interpreter)
MAX_CHUNK = 100
# a chunk is applied in one transaction whose fixed cost (about 10 ms on PostgreSQL) is most of
# what a few rows cost: below this many rows a drain would fall behind a steady 200/s
MIN_CHUNK = 10
GATHER_SECONDS = 0.25  # the wait that lets a burst be applied in chunks, not row by row


class Drainer:
    """Applies stored deliveries after the answer: one drain per connection at a time in this
    process, in short chunks, never more than ``share`` of the time.

    A burst of deliveries would otherwise start one drain each, all racing over the same rows;
    instead a delivery arriving during a drain only asks that drain to go round once more.

    Applying a delivery costs far more than storing one, and both need the database (SQLite has
    one writer at a time) and this interpreter. So that applying never starves the
    acknowledgements that platforms time, a drain works in chunks sized to take about ``run``
    seconds (learned from the last chunk's cost per row) and rests after each chunk as long as
    it took (for a share of one half). A burst is acknowledged at once and applied a moment
    later; nothing is lost by the wait, the rows are in the inbox.
    """

    def __init__(
        self,
        process: Callable[[str, int], int],
        *,
        run: float = CHUNK_SECONDS,
        gather: float = GATHER_SECONDS,
        share: float = PROCESS_SHARE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        first_chunk: int = MIN_CHUNK,
        min_chunk: int = MIN_CHUNK,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self._process = process
        self._run = run
        self._gather = gather
        self._rest_factor = (1 - share) / share
        self._sleep = sleep
        self._clock = clock
        self._min_chunk = max(1, min_chunk)
        self._chunk = max(self._min_chunk, first_chunk)
        self._lock = threading.Lock()
        self._state: dict[str, bool] = {}  # connection -> "go round again" while draining

    @property
    def chunk(self) -> int:
        return self._chunk

    def wanted(self, connection: str) -> bool:
        """True: the caller must schedule :meth:`drain`; False: a running drain will see it."""
        with self._lock:
            if connection in self._state:
                self._state[connection] = True
                return False
            self._state[connection] = False
            return True

    def _step(self, connection: str) -> bool:
        """Apply one chunk; True when the chunk was full (more may be waiting)."""
        limit = self._chunk
        started = self._clock()
        try:
            done = self._process(connection, limit)
        except Exception:  # the inbox keeps the rows; the next drain or sync retries them
            log.exception("processing the webhook inbox of %s failed", connection)
            return False
        finally:
            took = self._clock() - started
            if self._rest_factor:
                self._sleep(took * self._rest_factor)
        if done:
            per_row = max(took / done, 1e-6)
            self._chunk = max(self._min_chunk, min(MAX_CHUNK, int(self._run / per_row)))
        return done >= limit

    def drain(self, connection: str) -> None:
        while True:
            if self._gather:
                self._sleep(self._gather)
            with self._lock:
                self._state[connection] = False  # what arrives from now on needs another round
            while self._step(connection):
                pass
            with self._lock:
                if not self._state.get(connection):
                    del self._state[connection]
                    return
