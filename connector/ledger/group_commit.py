"""Group commit for burns: concurrent callers share one transaction, each keeping its own answer.

A burn's cost is dominated by its commit (a disk flush on PostgreSQL, the single writer on
SQLite), not by its rows. When many callers burn at once, one writer thread gathers what has
queued up (at most ``max_batch`` burns, waiting at most ``max_wait`` seconds for company once the
first has arrived) and applies them with :func:`connector.ledger.burns.burn_batch`: one
transaction, set-based writes, the batch's accounts locked in a stable order so that batches of
several processes never deadlock. Each burn is still decided alone, in arrival order: a refused
burn writes nothing and is answered with its own error, a replayed key gets its first result.

Should the batch's transaction fail as a whole (a lost connection, a lock timeout, a database
error one request provoked), every burn of it is retried alone, so a burn that fails fails alone.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

from connector.ledger.models import BurnRequest, BurnResult
from connector.ledger.service import Ledger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupCommitSettings:
    max_batch: int = 128
    max_wait: float = 0.002  # seconds a batch waits for company after its first burn
    writers: int = 1  # threads writing batches; more overlap one batch's commit with the next


_Item = tuple[BurnRequest, "Future[BurnResult]"]
_STOP = object()


class GroupCommitter:
    """Hands burns to writer threads and answers each caller through its own future."""

    def __init__(self, ledger: Ledger, settings: GroupCommitSettings | None = None) -> None:
        self._ledger = ledger
        self._settings = settings or GroupCommitSettings()
        self._queue: queue.Queue[object] = queue.Queue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._last_size = 0  # burns in the last batch: how many callers burn in step

    def submit(self, request: BurnRequest) -> Future[BurnResult]:
        """Queue ``request``; its future holds the result or the error that refused it."""
        future: Future[BurnResult] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the burn writer is closed")
            if not self._threads:
                self._start()
        self._queue.put((request, future))
        return future

    def burn(self, request: BurnRequest) -> BurnResult:
        return self.submit(request).result()

    def close(self) -> None:
        """Finish what is queued, then stop the writers."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(_STOP)
        for thread in threads:
            thread.join()

    def _start(self) -> None:
        for n in range(self._settings.writers):
            thread = threading.Thread(target=self._run, name=f"burn-writer-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch, stop = self._gather(first)
            self._write(batch)
            if stop:
                return

    def _gather(self, first: object) -> tuple[list[_Item], bool]:
        """The burns to write together: what is queued already, then company for at most
        ``max_wait``, but no longer than the callers keep coming. A batch stops as soon as it
        is as large as the last one (the callers that burn in step are all in), or when no burn
        arrived for a quarter of ``max_wait``: waiting longer would only delay those aboard."""
        batch: list[_Item] = [first]  # type: ignore[list-item]
        deadline = time.monotonic() + self._settings.max_wait
        quiet = self._settings.max_wait / 4
        while len(batch) < self._settings.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0 or len(batch) >= self._last_size:
                    break
                try:
                    item = self._queue.get(timeout=min(left, quiet))
                except queue.Empty:
                    break
            if item is _STOP:
                return batch, True
            batch.append(item)  # type: ignore[arg-type]
        self._last_size = len(batch)
        return batch, False

    def _write(self, batch: list[_Item]) -> None:
        live = [(req, fut) for req, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            outcomes = self._ledger.burn_batch([req for req, _ in live])
        except Exception as exc:
            if len(live) == 1:
                live[0][1].set_exception(exc)
                return
            log.warning(
                "a batch of %d burns failed as a whole (%s); applying each alone",
                len(live),
                type(exc).__name__,
            )
            for req, fut in live:
                self._alone(req, fut)
            return
        for (_, fut), outcome in zip(live, outcomes, strict=True):
            if outcome.error is not None:
                fut.set_exception(outcome.error)
            else:
                assert outcome.result is not None
                fut.set_result(outcome.result)

    def _alone(self, req: BurnRequest, fut: Future[BurnResult]) -> None:
        try:
            fut.set_result(self._ledger.burn(req))
        except Exception as exc:
            fut.set_exception(exc)
