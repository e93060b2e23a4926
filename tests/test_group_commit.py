"""Group commit is exact: many callers, random sizes, overdrafts and repeated keys.

Burns gathered into one transaction must come out as if each had been applied alone in some
order: no credit burned twice, none beyond what was granted, every refusal answered on its own,
every repeated key answered with its first result, and the ledger verifies.
"""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from connector.errors import Conflict, InsufficientCredits, NotFound
from connector.ledger.group_commit import GroupCommitSettings, GroupCommitter
from connector.ledger.models import BurnRequest, BurnResult
from connector.ledger.service import Ledger
from connector.store.tables import burns
from tests.ledger_helpers import T0, grant_request

ACCOUNTS = [f"acct-{n}" for n in range(6)]
GRANTED = 300  # per account: fewer than the callers ask for, so some burns must be refused
AFTER = T0 + timedelta(days=1)  # every burn below occurred before, every pool still usable


def _seed(engine: Engine) -> Ledger:
    ledger = Ledger(engine)
    ledger.set_rate("query", "1", T0 - timedelta(days=1))
    ledger.set_rate("image", "10", T0 - timedelta(days=1))
    for account in ACCOUNTS:
        ledger.grant(grant_request(account, GRANTED // 2, object_id=f"{account}-a"))
        ledger.grant(
            grant_request(
                account,
                GRANTED // 2,
                object_id=f"{account}-b",
                expires_at=T0 + timedelta(days=30),
            )
        )
    return ledger


def _requests(seed: int, count: int) -> list[BurnRequest]:
    """Random burns; every fifth repeats an earlier key with the same content."""
    rng = random.Random(seed)
    made: list[BurnRequest] = []
    for i in range(count):
        if made and i % 5 == 0:
            made.append(rng.choice(made))
            continue
        made.append(
            BurnRequest(
                account_id=rng.choice(ACCOUNTS),
                idempotency_key=f"c{seed}-{i}",
                action=rng.choice(["query", "image"]),
                units=rng.randint(1, 4),
                occurred_at=T0 + timedelta(minutes=i),
            )
        )
    return made


def test_many_callers_through_group_commit_burn_exactly(engine: Engine) -> None:
    ledger = _seed(engine)
    writer = GroupCommitter(ledger, GroupCommitSettings(max_batch=32, max_wait=0.003, writers=2))
    callers = 12

    def caller(n: int) -> list[tuple[BurnRequest, BurnResult | Exception]]:
        answers: list[tuple[BurnRequest, BurnResult | Exception]] = []
        for req in _requests(n, 40):
            try:
                answers.append((req, writer.burn(req)))
            except (InsufficientCredits, Conflict, NotFound) as exc:
                answers.append((req, exc))
        return answers

    try:
        with ThreadPoolExecutor(callers) as pool:
            answered = [a for answers in pool.map(caller, range(callers)) for a in answers]
    finally:
        writer.close()

    first: dict[tuple[str, str], BurnResult] = {}
    outcomes: Counter[str] = Counter()
    for req, answer in answered:
        key = (req.account_id, req.idempotency_key)
        if isinstance(answer, BurnResult):
            outcomes["replayed" if answer.replayed else "burned"] += 1
            if answer.replayed:
                assert key in first, "a replay answers only a key that burned"
                assert answer.burn_id == first[key].burn_id
                assert answer.credits == first[key].credits
            else:
                assert key not in first, "a key burns once"
                first[key] = answer
        else:
            assert isinstance(answer, InsufficientCredits)
            outcomes["refused"] += 1
    assert outcomes["burned"] and outcomes["replayed"] and outcomes["refused"]

    burned_per_account = Counter[str]()
    for (account, _), result in first.items():
        burned_per_account[account] += result.credits
    assert ledger.verify() == []
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(burns)).scalar_one()
        total = conn.execute(select(func.sum(burns.c.credits))).scalar_one()
    assert rows == len(first)
    assert total == sum(burned_per_account.values())
    for account in ACCOUNTS:
        assert burned_per_account[account] <= GRANTED
        assert ledger.balance(account, AFTER).total == GRANTED - burned_per_account[account]


def test_a_batch_answers_each_burn_on_its_own(engine: Engine) -> None:
    ledger = _seed(engine)
    good = BurnRequest("acct-0", "k-1", "query", 5, T0)
    same_again = BurnRequest("acct-0", "k-1", "query", 5, T0)
    reused = BurnRequest("acct-0", "k-1", "query", 6, T0)
    too_big = BurnRequest("acct-1", "k-2", "image", 1000, T0)
    unknown = BurnRequest("nobody", "k-3", "query", 1, T0)
    no_rate = BurnRequest("acct-2", "k-4", "video", 1, T0)
    after = BurnRequest("acct-0", "k-5", "query", 7, T0)
    outcomes = ledger.burn_batch([good, same_again, reused, too_big, unknown, no_rate, after])
    kinds = [type(o.error).__name__ if o.error else "ok" for o in outcomes]
    assert kinds == [
        "ok",
        "ok",
        "Conflict",
        "InsufficientCredits",
        "NotFound",
        "InvalidInput",
        "ok",
    ]
    first, replay, last = outcomes[0].result, outcomes[1].result, outcomes[6].result
    assert first and replay and last
    assert replay.replayed and replay.burn_id == first.burn_id
    assert ledger.balance("acct-0", T0).total == GRANTED - 12
    assert last.balance == ledger.balance("acct-0", datetime.now(UTC)).total  # spendable now
    assert last.burn_id > first.burn_id
    assert ledger.verify() == []
    # the same batch again replays every burn and burns nothing more
    again = ledger.burn_batch([good, after])
    assert all(o.result and o.result.replayed for o in again)
    assert ledger.balance("acct-0", T0).total == GRANTED - 12


@pytest.mark.parametrize("writers", [1, 3])
def test_hot_accounts_never_deadlock_or_lose_a_burn(engine: Engine, writers: int) -> None:
    ledger = _seed(engine)
    writer = GroupCommitter(
        ledger, GroupCommitSettings(max_batch=16, max_wait=0.001, writers=writers)
    )
    hot = ACCOUNTS[:2]

    def caller(n: int) -> int:
        burned = 0
        for i in range(40):
            req = BurnRequest(hot[(n + i) % 2], f"h{n}-{i}", "query", 1, T0 + timedelta(seconds=i))
            try:
                writer.burn(req)
                burned += 1
            except InsufficientCredits:
                pass
        return burned

    try:
        with ThreadPoolExecutor(16) as pool:
            burned = sum(pool.map(caller, range(16)))
    finally:
        writer.close()
    assert burned == 2 * GRANTED  # 640 asked for, 600 granted: every credit burned, none twice
    assert all(ledger.balance(account, AFTER).total == 0 for account in hot)
    assert ledger.verify() == []
