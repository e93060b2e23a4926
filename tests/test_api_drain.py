"""The drainer that applies stored webhook deliveries after the answer."""

from __future__ import annotations

import pytest

from connector.api.drain import MAX_CHUNK, MIN_CHUNK, Drainer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_one_drain_per_connection_that_goes_round_again_for_late_arrivals() -> None:
    rounds: list[str] = []
    drainer: Drainer

    def process(connection: str, _limit: int) -> int:
        rounds.append(connection)
        if len(rounds) == 1:  # a delivery arrives while the first round runs
            assert drainer.wanted(connection) is False
        return 0

    drainer = Drainer(process, gather=0, share=1)
    assert drainer.wanted("stripe") is True
    assert drainer.wanted("stripe") is False  # already scheduled
    assert drainer.wanted("chargebee") is True  # connections drain independently
    drainer.drain("stripe")
    assert rounds == ["stripe", "stripe"]
    assert drainer.wanted("stripe") is True  # finished: the next delivery starts a drain


def test_chunks_follow_until_one_is_short_each_followed_by_an_equal_rest() -> None:
    clock = Clock()
    sizes = iter([4, 4, 1])
    limits: list[int] = []
    slept: list[float] = []

    def process(_connection: str, limit: int) -> int:
        limits.append(limit)
        done = next(sizes)
        clock.now += done * 0.005  # 5 ms a row
        return done

    drainer = Drainer(
        process,
        run=0.02,
        gather=0.25,
        share=0.5,
        sleep=slept.append,
        clock=clock,
        first_chunk=4,
        min_chunk=1,
    )
    assert drainer.wanted("stripe")
    drainer.drain("stripe")
    assert limits == [4, 4, 4]  # 20 ms chunks at 5 ms a row
    assert slept == pytest.approx([0.25, 0.02, 0.02, 0.005])  # gather, then rest = run
    with pytest.raises(StopIteration):
        next(sizes)


def test_the_chunk_grows_when_rows_are_cheap_and_shrinks_when_they_are_dear() -> None:
    clock = Clock()
    cost = {"row": 0.0002}

    def process(_connection: str, limit: int) -> int:
        clock.now += limit * cost["row"]
        return limit

    drainer = Drainer(process, run=0.02, gather=0, share=1, clock=clock, first_chunk=4, min_chunk=1)
    drainer._step("stripe")
    assert drainer.chunk == MAX_CHUNK  # 0.2 ms a row: capped
    cost["row"] = 0.01
    drainer._step("stripe")
    assert drainer.chunk == 2  # 10 ms a row: two rows make 20 ms
    cost["row"] = 1.0
    drainer._step("stripe")
    assert drainer.chunk == 1  # never below one row


def test_by_default_a_chunk_keeps_enough_rows_to_outrun_a_steady_burst() -> None:
    clock = Clock()

    def process(_connection: str, limit: int) -> int:
        clock.now += 0.010 + limit * 0.0002  # a transaction's fixed cost, then a little a row
        return limit

    drainer = Drainer(process, run=0.005, gather=0, share=1, clock=clock)
    assert drainer.chunk == MIN_CHUNK
    drainer._step("stripe")
    assert drainer.chunk == MIN_CHUNK  # 1.2 ms "a row" would otherwise shrink it to 4


def test_a_failing_drain_is_logged_and_frees_the_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(_connection: str, _limit: int) -> int:
        raise RuntimeError("database went away")

    drainer = Drainer(broken, gather=0, share=1)
    assert drainer.wanted("stripe")
    drainer.drain("stripe")
    assert "database went away" in caplog.text
    assert drainer.wanted("stripe") is True


def test_a_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="share"):
        Drainer(lambda _c, _n: 0, share=0)
