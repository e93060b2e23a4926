"""Writer threads that apply what callers queued together, each caller answered alone.

Both group commits (burns, ``connector.ledger.group_commit``; webhook acknowledgements,
``connector.sync.inbox_writer``) have the same shape: callers hand an item over and wait on its
future; a writer thread takes what is queued (and, if asked, waits a moment for company), writes
it in one transaction, and answers every future with its own result or error. Should the batch
fail as a whole, each item is written alone, so an item that fails fails alone. A subclass says
how to write many and one; this module holds the queue, the threads and the answering.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_STOP = object()


class GroupWriter(Generic[T, R]):
    """``submit`` an item, get its future; ``close`` writes what is queued, then stops.

    A batch takes what is queued, then waits for company for at most ``max_wait`` seconds, but
    no longer than the callers keep coming: it closes as soon as the callers that write in step
    are all in, or when nothing arrived for a quarter of ``max_wait``. The callers in step are
    those the last batch answered (each sends its next item once answered) and those that
    queued while it was written; counting the last batch alone, callers that once fell into two
    halves (one half queued while the other was written) stayed halves for good, each half
    paying a whole transaction. With ``max_wait`` 0 it takes only what is queued: the write in
    flight is what lets a batch form."""

    def __init__(
        self, name: str, *, max_batch: int, max_wait: float = 0.0, writers: int = 1
    ) -> None:
        self._name = name
        self._max_batch = max(1, max_batch)
        self._max_wait = max_wait
        self._writers = writers
        self._queue: queue.Queue[object] = queue.Queue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._in_step = 0  # callers writing in step: the last batch's and those queued behind it

    def submit(self, item: T) -> Future[R]:
        """Queue ``item``; its future holds the result or the error that refused it. The writer
        threads start with the first item."""
        future: Future[R] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the {self._name} is closed")
            if not self._threads:
                for n in range(self._writers):
                    thread = threading.Thread(
                        target=self._run, name=f"{self._name}-{n}".replace(" ", "-"), daemon=True
                    )
                    thread.start()
                    self._threads.append(thread)
        self._queue.put((item, future))
        return future

    def close(self) -> None:
        """Write what is queued, then stop the writer threads."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(_STOP)
        for thread in threads:
            thread.join()

    # What a subclass says.

    def _write_many(self, items: list[T]) -> list[R | BaseException]:
        """Write ``items`` in one transaction: each one's result, or the error that refused it
        alone; raise if the batch failed as a whole."""
        raise NotImplementedError

    def _write_one(self, item: T) -> R:
        """Write ``item`` alone (after its batch failed as a whole)."""
        raise NotImplementedError

    def _worth_alone(self, error: Exception, size: int) -> bool:
        """Whether a batch of ``size`` that failed with ``error`` is written again item by item
        (by default when it held more than one)."""
        return size > 1

    def _stopped(self) -> None:
        """Called by each writer thread as it stops."""

    # The machinery.

    def _run(self) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                batch, stop = self._gather(first)
                self._write(batch)
                if stop:
                    return
        finally:
            self._stopped()

    def _gather(self, first: object) -> tuple[list[tuple[T, Future[R]]], bool]:
        batch: list[tuple[T, Future[R]]] = [first]  # type: ignore[list-item]
        deadline = time.monotonic() + self._max_wait
        quiet = self._max_wait / 4
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0 or len(batch) >= self._in_step:
                    break
                try:
                    item = self._queue.get(timeout=min(left, quiet))
                except queue.Empty:
                    break
            if item is _STOP:
                return batch, True
            batch.append(item)  # type: ignore[arg-type]
        return batch, False

    def _write(self, batch: list[tuple[T, Future[R]]]) -> None:
        live = [(item, fut) for item, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        answers: list[R | BaseException] | Exception
        try:
            answers = self._write_many([item for item, _ in live])
        except Exception as exc:
            answers = exc
        # counted before any caller is answered, so that none of them is queued yet
        self._in_step = min(self._max_batch, len(live) + self._queue.qsize())
        if isinstance(answers, Exception):
            self._failed_as_a_whole(live, answers)
            return
        for (_, fut), answer in zip(live, answers, strict=True):
            if isinstance(answer, BaseException):
                fut.set_exception(answer)
            else:
                fut.set_result(answer)

    def _failed_as_a_whole(self, live: list[tuple[T, Future[R]]], error: Exception) -> None:
        if not self._worth_alone(error, len(live)):
            for _, fut in live:
                fut.set_exception(error)
            return
        log.warning(
            "%s: a batch of %d failed as a whole (%s); writing each alone",
            self._name,
            len(live),
            type(error).__name__,
        )
        for item, fut in live:
            try:
                fut.set_result(self._write_one(item))
            except Exception as alone:
                fut.set_exception(alone)
