"""Random purchases, burns, refunds, voids, expiries, runs and closes: the money always adds up.

For every pool at every moment: revenue + breakage + refunded + deferred == amount paid; what
the journal posted for a pool equals what its state says; across pools, the deferred revenue
account in the journal equals the sum of the pools' deferred balances, to the cent.
"""

from __future__ import annotations

import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text

from connector.errors import InsufficientCredits, InvalidInput
from connector.ledger.models import BreakageMethod, PoolKind
from connector.recognition import subledger
from connector.recognition.closing import close_period, first_open
from connector.recognition.periods import end_of, period_of
from connector.recognition.refunds import apply_refund, apply_void
from connector.recognition.run import recognize
from connector.recognition.tables import (
    journal_entries,
    recognition_control,
    recognition_deltas,
    recognition_money,
)
from connector.store.engine import make_engine
from connector.store.schema import metadata
from tests.test_recognition_helpers import ACCOUNTS, GL, burn, grant, new_ledger

T0 = datetime(2026, 1, 1, tzinfo=UTC)
METHODS = [
    ("remote", "0"),
    ("proportional", "0.1"),
    ("proportional", "0.25"),
    ("proportional", "0.5"),
]


@dataclass(frozen=True)
class PoolSpec:
    amount: int
    credits: int
    currency: str
    method: tuple[str, str]
    day: int
    expires_after: int | None


pool_specs = st.builds(
    PoolSpec,
    amount=st.one_of(st.just(0), st.integers(1, 50_000)),
    credits=st.integers(1, 400),
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
    method=st.sampled_from(METHODS),
    day=st.integers(0, 40),
    expires_after=st.one_of(st.none(), st.integers(3, 100)),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("burn"), st.integers(0, 150), st.integers(1, 150)),
        st.tuples(st.just("refund"), st.integers(0, 150), st.integers(0, 3), st.integers(1, 100)),
        st.tuples(st.just("void"), st.integers(0, 150), st.integers(0, 3)),
        st.tuples(st.just("expire"), st.integers(0, 160)),
        st.tuples(st.just("recognize"), st.integers(10, 170)),
        st.tuples(st.just("close")),
    ),
    min_size=1,
    max_size=20,
)


@contextmanager
def fresh_engine(kind: str, request: pytest.FixtureRequest, tmp: Path) -> Iterator[Engine]:
    if kind == "sqlite":
        path = tmp / f"{uuid.uuid4().hex}.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        engine = make_engine(request.getfixturevalue("pg_url"))
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    try:
        yield engine
    finally:
        engine.dispose()


def day(n: int) -> datetime:
    return T0 + timedelta(days=n, hours=n % 24)


def check_pools_at(engine: Engine, moment: datetime) -> None:
    with engine.connect() as conn:
        for info, (position,) in subledger.positions(conn, [moment]):
            f = position.figures
            assert f.revenue + f.breakage + f.refunded + position.deferred == info.terms.amount
            assert position.deferred == f.deferred
            assert min(position.deferred, f.revenue, f.breakage, f.refunded, f.contra) >= 0


def check_journal_matches_pools(engine: Engine, through: datetime) -> None:
    with engine.connect() as conn:
        posted: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        d = recognition_deltas.c
        for pool_id, figure, amount in conn.execute(
            select(d.pool_id, d.figure, func.sum(d.amount)).group_by(d.pool_id, d.figure)
        ):
            posted[pool_id][figure] = int(amount)
        deferred_by_currency: dict[str, int] = defaultdict(int)
        for info, (position,) in subledger.positions(conn, [through]):
            journal_side = {name: posted[info.id].get(name, 0) for name in position.figures._fields}
            assert journal_side == position.figures._asdict(), f"pool {info.id}"
            deferred_by_currency[info.currency] += position.deferred
        account_balance: dict[str, int] = defaultdict(int)
        for currency, payload in conn.execute(
            select(journal_entries.c.currency, journal_entries.c.payload)
        ):
            for line in payload["lines"]:
                if line["account"] == ACCOUNTS.deferred_revenue:
                    account_balance[currency] += line["credit"] - line["debit"]
        assert {c: v for c, v in account_balance.items() if v} == {
            c: v for c, v in deferred_by_currency.items() if v
        }


def run_scenario(engine: Engine, pools: list[PoolSpec], ops: list[tuple[Any, ...]]) -> None:
    ledger = new_ledger(engine)
    ids: list[int] = []
    for n, spec in enumerate(pools):
        method, rate = spec.method
        start = day(spec.day)
        ids.append(
            grant(
                ledger,
                amount=spec.amount,
                credits=spec.credits,
                currency=spec.currency,
                kind=PoolKind.PAID if spec.amount else PoolKind.PROMOTIONAL,
                method=BreakageMethod(method),
                rate=rate,
                effective_at=start,
                expires_at=start + timedelta(days=spec.expires_after)
                if spec.expires_after
                else None,
                object_id=f"inv{n}",
            )
        )
    last_through: datetime | None = None
    frozen: dict[str, set[str]] = {}
    for op in ops:
        kind = op[0]
        if kind == "burn":
            with suppress(InsufficientCredits):
                burn(ledger, op[2], day(op[1]))
        elif kind in ("refund", "void"):
            pool_id = ids[op[2] % len(ids)]
            spec = pools[op[2] % len(ids)]
            moment = max(day(op[1]), day(spec.day))
            with engine.begin() as conn:
                if kind == "void":
                    apply_void(conn, pool_id, f"void-{uuid.uuid4().hex[:8]}", moment)
                    continue
                refunded = conn.execute(
                    select(func.coalesce(func.sum(recognition_money.c.amount), 0)).where(
                        recognition_money.c.pool_id == pool_id
                    )
                ).scalar_one()
                left = spec.amount - int(refunded)
                if left <= 0:
                    continue
                amount = max(1, left * op[3] // 100)
                applied = apply_refund(conn, pool_id, amount, f"re-{uuid.uuid4().hex[:8]}", moment)
                assert applied.to_deferred + applied.contra == amount
                assert applied.credits >= 0 and applied.to_deferred >= 0
        elif kind == "expire":
            ledger.expire(day(op[1]))
        elif kind == "recognize":
            through = day(op[1])
            if last_through is not None and through < last_through:
                continue
            try:
                recognize(engine, through, GL)
            except InvalidInput as exc:
                assert exc.field == "through"  # a cutoff inside closed periods
                continue
            last_through = through
            check_journal_matches_pools(engine, through)
        else:
            with engine.begin() as conn:
                opening = first_open(conn) or period_of(T0, UTC)
                covered = conn.execute(select(recognition_control.c.last_through)).scalar()
                if covered is None or covered < end_of(opening, UTC):
                    continue
                try:
                    close_period(conn, opening)
                except InvalidInput as exc:  # refused, and why: late facts, or expiries not run
                    assert (
                        "arrived after the last recognition" in exc.problem
                        or "have not been expired" in exc.problem
                    ), exc.problem
                    continue
                frozen[opening] = set(
                    conn.execute(
                        select(journal_entries.c.id).where(journal_entries.c.period == opening)
                    ).scalars()
                )
        check_pools_at(engine, day(op[1]) if len(op) > 1 else day(0))
    final = max(day(200), last_through or day(200))
    run = recognize(engine, final, GL)
    assert all(e.period not in frozen for e in run.entries)
    check_journal_matches_pools(engine, final)
    check_pools_at(engine, final)
    assert recognize(engine, final, GL).entries == ()
    assert ledger.verify() == []
    with engine.connect() as conn:
        for period, ids_then in frozen.items():
            now = set(
                conn.execute(
                    select(journal_entries.c.id).where(journal_entries.c.period == period)
                ).scalars()
            )
            assert now == ids_then


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pools=st.lists(pool_specs, min_size=1, max_size=4), ops=operations)
def test_money_always_adds_up(
    kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    pools: list[PoolSpec],
    ops: list[tuple[Any, ...]],
) -> None:
    with fresh_engine(kind, request, tmp_path) as engine:
        run_scenario(engine, pools, ops)
