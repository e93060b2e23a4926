"""``creditsync balance`` reads through the bare driver (``connector.ledger.balance_read``): it
must give exactly the ledger's own answer, and step aside whenever it cannot be sure."""

from __future__ import annotations

import contextlib
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from connector.errors import InsufficientCredits, NotFound
from connector.ledger import accounts
from connector.ledger.balance_read import balance_directly
from connector.ledger.models import EntryKind, PoolKind
from connector.ledger.order import POLICIES
from connector.ledger.pools import take_back
from connector.ledger.service import Ledger
from connector.store.engine import make_engine
from tests.ledger_helpers import T0, burn_request, grant_request

ACCOUNTS = ("acme", "globex", "initech")


def _random_ledger(engine: Engine, seed: int) -> list[datetime]:
    """Grants of every kind, expiry and priority, some effective later; burns, a void and an
    expiry run; a consumption order per account. Returns moments worth asking about."""
    rng = random.Random(seed)
    ledger = Ledger(engine)
    ledger.set_rate("query", "1", T0 - timedelta(days=1))
    moments = [T0 + timedelta(days=day, hours=rng.randrange(24)) for day in range(0, 60, 7)]
    pools = []
    for number in range(18):
        account = ACCOUNTS[number % len(ACCOUNTS)]
        effective = T0 + timedelta(days=rng.randrange(0, 20))
        expiry = rng.choice([None, effective + timedelta(days=rng.randrange(5, 40))])
        pool, _ = ledger.grant(
            grant_request(
                account,
                rng.randrange(50, 500),
                kind=rng.choice(list(PoolKind)),
                effective_at=effective,
                expires_at=expiry,
                priority=rng.choice([10, 100, 100, 200]),
                object_id=f"inv_{seed}_{number}",
            )
        )
        pools.append(pool)
    for number in range(30):
        account = rng.choice(ACCOUNTS)
        moment = T0 + timedelta(days=rng.randrange(0, 45), minutes=rng.randrange(1440))
        request = burn_request(
            f"b{number}", rng.randrange(1, 60), account_id=account, occurred_at=moment
        )
        with contextlib.suppress(InsufficientCredits):  # a burn that does not fit: refused
            ledger.burn(request)
    victim = rng.choice(pools)
    with engine.begin() as conn:
        take_back(conn, victim.id, 20, EntryKind.VOID, "void-1", T0 + timedelta(days=12))
        for account in ACCOUNTS[1:]:
            accounts.set_consumption_order(conn, account, rng.choice(list(POLICIES)))
    ledger.expire(T0 + timedelta(days=30))
    return moments


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_direct_read_gives_the_ledgers_balance_now_and_at_any_moment(
    engine: Engine, db_url: str, seed: int
) -> None:
    moments = _random_ledger(engine, seed)
    ledger = Ledger(engine)
    for account in ACCOUNTS:
        for at in [None, *moments]:
            direct = balance_directly(db_url, account, at)
            assert direct == ledger.balance(account, at), (account, at)
    assert any(ledger.balance(a).total for a in ACCOUNTS)  # the story left credits to compare


def test_an_unknown_account_is_not_found(engine: Engine, db_url: str) -> None:
    with pytest.raises(NotFound, match="'nobody' does not exist"):
        balance_directly(db_url, "nobody", None)


def test_it_steps_aside_for_a_database_it_cannot_be_sure_of(
    tmp_path: Path, sqlite_template: Path
) -> None:
    missing = tmp_path / "missing.db"
    assert balance_directly(f"sqlite:///{missing}", "acme", None) is None
    assert not missing.exists()  # the full path creates and migrates it, not this read
    never_migrated = tmp_path / "empty.db"
    never_migrated.touch()
    assert balance_directly(f"sqlite:///{never_migrated}", "acme", None) is None
    current = tmp_path / "current.db"
    current.write_bytes(sqlite_template.read_bytes())
    with pytest.raises(NotFound):  # read directly
        balance_directly(f"sqlite:///{current}", "nobody", None)
    assert balance_directly(f"sqlite:///{current}?timeout=5", "nobody", None) is None
    assert balance_directly("sqlite://", "nobody", None) is None
    assert balance_directly("mysql://localhost/x", "nobody", None) is None
    assert balance_directly("postgresql://postgres@127.0.0.1:1/none", "nobody", None) is None


def test_postgresql_behind_pgbouncer_is_read_without_prepared_statements(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        Ledger(engine).grant(grant_request("pgbouncer-acme", 40, object_id="inv_pgbouncer"))
    finally:
        engine.dispose()
    at = T0 + timedelta(hours=1)
    found = balance_directly(f"{pg_url}?pgbouncer=true", "pgbouncer-acme", at)
    assert found is not None and found.total == 40
