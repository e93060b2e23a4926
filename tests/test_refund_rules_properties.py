"""Random bundles, burns, partial refunds and failed refunds, then a full refund: the pools hold
no credits afterwards, and revenue + breakage + refunded + deferred == amount throughout."""

from __future__ import annotations

import uuid
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine

from connector.errors import InsufficientCredits
from connector.events import RefundFailed, SourceKey
from connector.ledger.models import BreakageMethod, Pool, PoolKind
from connector.ledger.pools import pools_for_object
from connector.recognition.failed_refunds import apply_refund_failed
from connector.recognition.line_refunds import apply_line_refund
from connector.recognition.refunds import refunded_so_far
from connector.recognition.run import recognize
from tests.test_recognition_helpers import GL, burn, grant, new_ledger
from tests.test_recognition_properties import (
    METHODS,
    check_journal_matches_pools,
    check_pools_at,
    day,
    fresh_engine,
)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("burn"), st.integers(1, 150)),
        st.tuples(st.just("refund"), st.integers(1, 99)),
        st.tuples(st.just("fail")),
        st.tuples(st.just("recognize")),
    ),
    max_size=12,
)


def unrefunded(conn: Connection, amount: int) -> tuple[list[Pool], int]:
    """The purchase's pools and the part of its amount not refunded yet."""
    targets = pools_for_object(conn, "test", "inv")
    return targets, amount - sum(refunded_so_far(conn, [p.id for p in targets]).values())


def run_scenario(
    engine: Engine,
    amount: int,
    credits: int,
    bonus: int,
    method: tuple[str, str],
    ops: list[tuple[Any, ...]],
) -> None:
    ledger = new_ledger(engine)
    common: dict[str, Any] = {
        "currency": "USD",
        "method": BreakageMethod(method[0]),
        "rate": method[1],
        "effective_at": day(0),
        "object_id": "inv",
    }
    grant(ledger, amount=amount, credits=credits, **common)
    if bonus:  # a bonus carrying no revenue, on the same line
        grant(ledger, amount=0, credits=bonus, kind=PoolKind.BONUS, part="bonus", **common)
    refunds: list[str] = []
    for n, op in enumerate(ops, start=1):
        moment = day(n)
        if op[0] == "burn":
            with suppress(InsufficientCredits):
                burn(ledger, op[1], moment)
        elif op[0] == "refund":
            with engine.begin() as conn:
                targets, left = unrefunded(conn, amount)
                share = left * op[1] // 100
                if 0 < share < left:
                    reference = f"test:re-{uuid.uuid4().hex[:8]}:"
                    apply_line_refund(conn, targets, share, reference, moment)
                    refunds.append(reference)
        elif op[0] == "fail" and refunds:
            failure = RefundFailed(
                source=SourceKey(platform="test", object_id=f"rf-{uuid.uuid4().hex[:8]}"),
                occurred_at=moment,
                currency="USD",
                refund=SourceKey.parse(refunds.pop()),
                target_object="inv",
            )
            with engine.begin() as conn:
                assert apply_refund_failed(conn, failure)
        elif op[0] == "recognize":
            recognize(engine, moment, GL)
            check_journal_matches_pools(engine, moment)
        check_pools_at(engine, moment + timedelta(seconds=1))
    end = day(len(ops) + 1)
    with engine.begin() as conn:
        targets, left = unrefunded(conn, amount)
        apply_line_refund(conn, targets, left, "test:re-full:", end)
        assert {p.id: 0 for p in targets} == {
            p.id: p.credits_remaining for p in pools_for_object(conn, "test", "inv")
        }
    final = end + timedelta(days=400)
    recognize(engine, final, GL)
    check_pools_at(engine, final)
    check_journal_matches_pools(engine, final)
    assert ledger.verify() == []


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    amount=st.integers(1, 50_000),
    credits=st.integers(1, 400),
    bonus=st.one_of(st.just(0), st.integers(1, 200)),
    method=st.sampled_from(METHODS),
    ops=steps,
)
def test_after_any_full_refund_the_pools_hold_no_credits_and_the_money_adds_up(
    kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    amount: int,
    credits: int,
    bonus: int,
    method: tuple[str, str],
    ops: list[tuple[Any, ...]],
) -> None:
    with fresh_engine(kind, request, tmp_path) as engine:
        run_scenario(engine, amount, credits, bonus, method, ops)
