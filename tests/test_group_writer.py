"""How the group writer gathers a batch: callers that write in step end up in one batch.

Callers in a closed loop (each sends its next item once answered, as the burn API's callers do)
can fall into two halves: one half queued while the other half's batch was written. Each half
then pays a whole transaction unless the writer, gathering the queued half, waits for the half
it has just answered.
"""

from __future__ import annotations

import threading

from connector.group_writer import GroupWriter

HALF = 8
ROUNDS = 12
MAX_WAIT = 4.0  # seconds: far beyond any thread's turn, so only a deliberate wait reaches it


class Recorder(GroupWriter[int, int]):
    """Answers each item with itself; batch k is held until ``holds[k]`` is set."""

    def __init__(self, *holds: threading.Event) -> None:
        super().__init__("test writer", max_batch=64, max_wait=MAX_WAIT)
        self.sizes: list[int] = []
        self.writing = threading.Semaphore(0)  # released as each batch starts
        self._holds = holds

    def _write_many(self, items: list[int]) -> list[int | BaseException]:
        self.sizes.append(len(items))
        self.writing.release()
        if len(self.sizes) <= len(self._holds):
            assert self._holds[len(self.sizes) - 1].wait(10)
        return list(items)


def _caller(writer: Recorder, queued: threading.Barrier | None, rounds: int) -> None:
    for n in range(rounds):
        future = writer.submit(n)
        if queued is not None and n == 0:
            queued.wait(10)
        assert future.result(timeout=10) == n


def _half(writer: Recorder) -> list[threading.Thread]:
    """HALF callers started, each with its first item queued."""
    queued = threading.Barrier(HALF + 1)
    half = [threading.Thread(target=_caller, args=(writer, queued, ROUNDS)) for _ in range(HALF)]
    for thread in half:
        thread.start()
    queued.wait(10)
    return half


def test_callers_that_fell_into_halves_are_gathered_again() -> None:
    holds = threading.Event(), threading.Event()
    writer = Recorder(*holds)
    warm_up = writer.submit(-1)
    assert writer.writing.acquire(timeout=10)  # the first batch is being written...
    first = _half(writer)  # ...while the first half queues
    holds[0].set()
    assert writer.writing.acquire(timeout=10)  # the first half's batch is being written...
    second = _half(writer)  # ...while the second half queues
    holds[1].set()
    for thread in first + second:
        thread.join(10)
    writer.close()

    assert warm_up.result() == -1
    assert writer.sizes[:2] == [1, HALF]
    # the second half's first batch waits for the first half, answered a moment before; from
    # then on all write together, until the first half is done
    assert writer.sizes[2:] == [2 * HALF] * (ROUNDS - 1) + [HALF]


def test_a_lone_caller_is_answered_without_waiting_for_company() -> None:
    writer = Recorder()
    done = threading.Event()

    def alone() -> None:
        _caller(writer, None, ROUNDS)
        done.set()

    threading.Thread(target=alone).start()
    # a batch waiting for company would wait a quarter of MAX_WAIT for it at least: twelve
    # rounds in less than half that total means no batch waited for a caller that does not exist
    assert done.wait(ROUNDS * MAX_WAIT / 8), writer.sizes
    writer.close()
    assert writer.sizes == [1] * ROUNDS
