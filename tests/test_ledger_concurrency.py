"""Concurrent burns on one account never overdraw a pool or lose a burn."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import Engine, func, select

from connector.errors import InsufficientCredits
from connector.ledger.service import Ledger
from connector.store.engine import make_engine
from connector.store.tables import burns
from tests.ledger_helpers import T0, burn_request, grant_request

CREDITS = 120


def _seed(engine: Engine) -> Ledger:
    ledger = Ledger(engine)
    ledger.set_rate("query", "1", T0 - timedelta(days=1))
    ledger.grant(grant_request(credits=CREDITS // 2, object_id="p1"))
    ledger.grant(
        grant_request(credits=CREDITS // 2, object_id="p2", expires_at=T0 + timedelta(days=9))
    )
    return ledger


def _burn_many(url: str, prefix: str, count: int) -> tuple[int, int]:
    """Burn 1 credit ``count`` times (keys repeat once each); return (applied, refused)."""
    engine = make_engine(url)
    ledger = Ledger(engine)
    applied = refused = 0
    for i in range(count):
        try:
            result = ledger.burn(burn_request(f"{prefix}-{i // 2}", 1))
            applied += 0 if result.replayed else 1
        except InsufficientCredits:
            refused += 1
    engine.dispose()
    return applied, refused


def _assert_consistent(ledger: Ledger, applied: int) -> None:
    assert applied == CREDITS  # every credit burned once, none twice, never more than granted
    assert ledger.balance("acme", T0).total == 0
    assert ledger.verify() == []
    with ledger.engine.connect() as conn:
        assert conn.execute(select(func.sum(burns.c.credits))).scalar_one() == CREDITS


def test_eight_threads_burning_one_account(engine: Engine, db_url: str) -> None:
    ledger = _seed(engine)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda t: _burn_many(db_url, f"t{t}", 40), range(8)))
    applied = sum(a for a, _ in results)
    _assert_consistent(ledger, applied)
    assert sum(r for _, r in results) > 0  # 8 x 20 distinct burns asked for 160 > 120 credits


def test_two_processes_burning_one_account(engine: Engine, db_url: str) -> None:
    ledger = _seed(engine)
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.starmap(_burn_many, [(db_url, "p0", 160), (db_url, "p1", 160)])
    _assert_consistent(ledger, sum(a for a, _ in results))
