from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from connector.errors import Conflict, InsufficientCredits, InvalidInput, NotFound
from connector.ledger import pools as pool_store
from connector.ledger.burns import BurnPolicy
from connector.ledger.models import EntryKind, PoolKind, PoolStatus
from connector.ledger.service import Ledger
from connector.store.tables import burns, ledger_entries, pools
from tests.ledger_helpers import T0, burn_request, grant_request


@pytest.fixture
def ledger(engine: Engine) -> Ledger:
    ledger = Ledger(engine)
    ledger.set_rate("query", "1", T0 - timedelta(days=1))
    ledger.set_rate("image", "10", T0 - timedelta(days=1))
    return ledger


def _row_counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(pools)).scalar_one(),
            conn.execute(select(func.count()).select_from(burns)).scalar_one(),
            conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one(),
        )


def test_granting_the_same_source_twice_returns_the_first_pool(ledger: Ledger) -> None:
    request = grant_request(credits=500, object_id="inv_1")
    first, created = ledger.grant(request)
    again, created_again = ledger.grant(replace(request, credits=999))
    assert created and not created_again
    assert again.id == first.id
    assert again.credits_granted == 500
    assert ledger.balance("acme").total == 500


def test_bonus_part_of_one_line_is_a_pool_of_its_own(ledger: Ledger) -> None:
    paid, _ = ledger.grant(grant_request(credits=1000, object_id="inv_b"))
    bonus, created = ledger.grant(
        grant_request(credits=200, object_id="inv_b", kind=PoolKind.BONUS, part="bonus")
    )
    assert created and bonus.id != paid.id
    assert ledger.balance("acme").total == 1200


def test_burn_takes_credits_at_the_rate_in_force_when_it_occurred(ledger: Ledger) -> None:
    ledger.grant(grant_request(credits=1000))
    ledger.set_rate("image", "12", T0 + timedelta(days=10), note="model cost up")
    before = ledger.burn(burn_request("b1", 2, action="image", occurred_at=T0 + timedelta(days=9)))
    after = ledger.burn(burn_request("b2", 2, action="image", occurred_at=T0 + timedelta(days=11)))
    assert (before.credits, before.rate_version) == (20, 1)
    assert (after.credits, after.rate_version) == (24, 2)
    assert after.balance == 1000 - 20 - 24
    # a later rate change never rewrites a burn already made
    ledger.set_rate("image", "50", T0 + timedelta(days=5))
    replayed = ledger.burn(
        burn_request("b1", 2, action="image", occurred_at=T0 + timedelta(days=9))
    )
    assert replayed.replayed and replayed.credits == 20


def test_fractional_rates_round_up_to_whole_credits(ledger: Ledger) -> None:
    ledger.grant(grant_request(credits=100))
    ledger.set_rate("token", "0.002", T0 - timedelta(days=1))
    assert ledger.burn(burn_request("t1", 1500, action="token")).credits == 3  # 3.0 exactly
    assert ledger.burn(burn_request("t2", 1501, action="token")).credits == 4  # 3.002 -> 4


def test_default_order_soonest_expiry_then_priority_then_promotional_then_oldest(
    ledger: Ledger,
) -> None:
    late = T0 + timedelta(days=300)
    soon = T0 + timedelta(days=30)
    never, _ = ledger.grant(grant_request(credits=10, object_id="never"))
    paid_late, _ = ledger.grant(grant_request(credits=10, object_id="paid_late", expires_at=late))
    promo_late, _ = ledger.grant(
        grant_request(
            credits=10, object_id="promo_late", expires_at=late, kind=PoolKind.PROMOTIONAL
        )
    )
    urgent_low_priority, _ = ledger.grant(
        grant_request(credits=10, object_id="soon_p200", expires_at=soon, priority=200)
    )
    urgent, _ = ledger.grant(
        grant_request(credits=10, object_id="soon_p1", expires_at=soon, priority=1)
    )
    result = ledger.burn(burn_request("all", 50))
    assert [a.pool_id for a in result.allocations] == [
        urgent.id,
        urgent_low_priority.id,
        promo_late.id,
        paid_late.id,
        never.id,
    ]


def test_order_policy_can_be_chosen_per_account(engine: Engine) -> None:
    ledger = Ledger(engine, policy_for=lambda _a: BurnPolicy(consumption_order="oldest_first"))
    ledger.set_rate("query", "1", T0 - timedelta(days=1))
    oldest, _ = ledger.grant(grant_request(credits=5, object_id="old"))
    ledger.grant(
        grant_request(
            credits=5,
            object_id="new",
            effective_at=T0 + timedelta(hours=1),
            expires_at=T0 + timedelta(days=2),
        )
    )
    result = ledger.burn(burn_request("k", 3, occurred_at=T0 + timedelta(hours=2)))
    assert [a.pool_id for a in result.allocations] == [oldest.id]


def test_a_burn_that_does_not_fit_is_refused_and_writes_nothing(ledger: Ledger) -> None:
    ledger.grant(grant_request(credits=5))
    counts = _row_counts(ledger.engine)
    with pytest.raises(InsufficientCredits) as refused:
        ledger.burn(burn_request("too-big", 6))
    assert (refused.value.requested, refused.value.available) == (6, 5)
    assert _row_counts(ledger.engine) == counts
    assert ledger.balance("acme").total == 5


def test_overage_policy_burns_what_is_left_and_records_the_rest(engine: Engine) -> None:
    ledger = Ledger(engine, policy_for=lambda _a: BurnPolicy(allow_overage=True))
    ledger.set_rate("query", "1", T0 - timedelta(days=1))
    ledger.grant(grant_request(credits=5))
    result = ledger.burn(burn_request("over", 8))
    assert (result.credits, result.overage_credits, result.balance) == (8, 3, 0)
    assert ledger.verify() == []


def test_replaying_a_key_returns_the_first_result_and_burns_once(ledger: Ledger) -> None:
    ledger.grant(grant_request(credits=100))
    first = ledger.burn(burn_request("same", 7))
    again = ledger.burn(burn_request("same", 7))
    assert again.replayed and not first.replayed
    assert (again.burn_id, again.credits, again.allocations) == (
        first.burn_id,
        first.credits,
        first.allocations,
    )
    assert ledger.balance("acme").total == 93


def test_the_same_key_for_a_different_burn_is_a_conflict(ledger: Ledger) -> None:
    ledger.grant(grant_request(credits=100))
    ledger.burn(burn_request("same", 7))
    with pytest.raises(Conflict, match="different burn"):
        ledger.burn(burn_request("same", 8))
    assert ledger.balance("acme").total == 93


def test_batch_burns_succeed_or_fail_one_by_one(ledger: Ledger) -> None:
    ledger.grant(grant_request(credits=10))
    outcomes = ledger.burn_batch(
        [
            burn_request("a", 4),
            burn_request("b", 100),  # too big
            burn_request("c", 1, action="unknown"),
            burn_request("d", 6),
            burn_request("e", 1, account_id="ghost"),
        ]
    )
    assert [o.result is not None for o in outcomes] == [True, False, False, True, False]
    assert isinstance(outcomes[1].error, InsufficientCredits)
    assert isinstance(outcomes[2].error, InvalidInput)
    assert isinstance(outcomes[4].error, NotFound)
    assert ledger.balance("acme").total == 0
    assert ledger.verify() == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"units": -1}, "units"),
        ({"units": 0}, "units"),
        ({"units": 1.5}, "units"),
        ({"action": "teleport"}, "action"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "a\x00b"}, "idempotency_key"),  # PostgreSQL cannot store it
        ({"account_id": "acme\ud800"}, "account_id"),  # nor UTF-8 encode it
        ({"action": "qu\x00ery"}, "action"),
        ({"occurred_at": T0.replace(tzinfo=None)}, "occurred_at"),
    ],
)
def test_bad_burns_name_the_field_and_change_nothing(
    ledger: Ledger, change: dict[str, object], field: str
) -> None:
    ledger.grant(grant_request(credits=10))
    counts = _row_counts(ledger.engine)
    with pytest.raises(InvalidInput) as error:
        ledger.burn(replace(burn_request("bad", 1), **change))  # type: ignore[arg-type]
    assert error.value.field == field
    assert _row_counts(ledger.engine) == counts


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"credits": -5}, "credits"),
        ({"revenue_amount": 12.5}, "revenue_amount"),
        ({"effective_at": T0.replace(tzinfo=None)}, "effective_at"),
        ({"expires_at": T0 - timedelta(days=1)}, "expires_at"),
        ({"kind": "gift"}, "kind"),
        ({"breakage_rate": "1.2"}, "breakage_rate"),
    ],
)
def test_bad_grants_name_the_field_and_change_nothing(
    ledger: Ledger, change: dict[str, object], field: str
) -> None:
    counts = _row_counts(ledger.engine)
    with pytest.raises(InvalidInput) as error:
        ledger.grant(replace(grant_request(), **change))  # type: ignore[arg-type]
    assert error.value.field == field
    assert _row_counts(ledger.engine) == counts


def test_bad_rates_are_refused(ledger: Ledger) -> None:
    for text in ("-1", "0", "abc", "0.0000001", "NaN"):
        with pytest.raises(InvalidInput) as error:
            ledger.set_rate("query", text)
        assert error.value.field == "credits_per_unit"
    assert [r.version for r in ledger.rate_history("query")] == [1]


def test_expiry_records_the_credits_lost_at_the_pools_own_expiry(ledger: Ledger) -> None:
    expires = T0 + timedelta(days=30)
    pool, _ = ledger.grant(grant_request(credits=100, expires_at=expires))
    ledger.grant(grant_request(credits=50, object_id="keeps"))
    ledger.burn(burn_request("x", 40, occurred_at=T0 + timedelta(days=1)))
    assert ledger.expire(expires - timedelta(seconds=1)) == []
    lost = ledger.expire(expires + timedelta(days=3))
    assert [(e.pool_id, e.credits, e.expired_at) for e in lost] == [(pool.id, 60, expires)]
    assert ledger.expire(expires + timedelta(days=4)) == []  # idempotent
    assert ledger.balance("acme", expires + timedelta(days=5)).total == 50
    with ledger.engine.connect() as conn:
        assert pool_store.get_pool(conn, pool.id).status is PoolStatus.EXPIRED
    assert ledger.verify() == []


def test_a_burn_after_expiry_cannot_use_the_expired_pool(ledger: Ledger) -> None:
    expires = T0 + timedelta(days=1)
    ledger.grant(grant_request(credits=10, expires_at=expires))
    with pytest.raises(InsufficientCredits):
        ledger.burn(burn_request("late", 1, occurred_at=expires))
    assert ledger.burn(burn_request("in-time", 1, occurred_at=expires - timedelta(seconds=1)))


def test_take_back_is_idempotent_and_voids_an_emptied_pool(ledger: Ledger) -> None:
    pool, _ = ledger.grant(grant_request(credits=100))
    ledger.burn(burn_request("x", 30))
    with ledger.engine.begin() as conn:
        first = pool_store.take_back(conn, pool.id, 50, EntryKind.CLAWBACK, "re_1", T0)
        again = pool_store.take_back(conn, pool.id, 50, EntryKind.CLAWBACK, "re_1", T0)
        rest = pool_store.take_back(conn, pool.id, 500, EntryKind.VOID, "void_1", T0)
        voided = pool_store.get_pool(conn, pool.id)
    assert (first, again, rest) == (50, 50, 20)
    assert (voided.credits_remaining, voided.status) == (0, PoolStatus.VOIDED)
    assert ledger.verify() == []


def test_verify_reports_a_pool_whose_counter_was_tampered_with(ledger: Ledger) -> None:
    pool, _ = ledger.grant(grant_request(credits=100))
    ledger.burn(burn_request("x", 10))
    with ledger.engine.begin() as conn:
        conn.execute(update(pools).where(pools.c.id == pool.id).values(credits_remaining=95))
    violations = ledger.verify()
    assert [v.subject for v in violations] == [f"pool {pool.id}"]
    assert "remaining 95" in violations[0].problem


def test_balance_lists_pools_in_burn_order_with_expiry(ledger: Ledger) -> None:
    soon = T0 + timedelta(days=3)
    later, _ = ledger.grant(grant_request(credits=5, object_id="later"))
    first, _ = ledger.grant(grant_request(credits=7, object_id="first", expires_at=soon))
    balance = ledger.balance("acme", T0 + timedelta(hours=1))
    assert balance.total == 12
    assert [(p.pool_id, p.expires_at) for p in balance.pools] == [
        (first.id, soon),
        (later.id, None),
    ]
    with pytest.raises(NotFound):
        ledger.balance("nobody")


def test_balance_at_a_past_moment_is_computed_from_the_entries_dated_before_it(
    ledger: Ledger,
) -> None:
    expires = T0 + timedelta(days=20)
    short, _ = ledger.grant(grant_request(credits=500, object_id="short", expires_at=expires))
    ledger.grant(grant_request(credits=1500, object_id="long"))
    ledger.burn(burn_request("early", 100, occurred_at=T0 + timedelta(days=1)))
    ledger.burn(burn_request("later", 300, occurred_at=T0 + timedelta(days=10)))
    with ledger.engine.begin() as conn:  # a void recorded now, dated after the moment asked
        pool_store.take_back(conn, short.id, 500, EntryKind.VOID, "v", expires - timedelta(days=1))
    ledger.expire(expires + timedelta(days=1))

    at_day_five = ledger.balance("acme", T0 + timedelta(days=5))
    assert at_day_five.total == 1900
    assert [p.credits_remaining for p in at_day_five.pools] == [400, 1500]
    assert ledger.balance("acme", T0 + timedelta(days=10)).total == 1600  # the burn at 10 counts
    assert ledger.balance("acme", expires - timedelta(days=1)).total == 1500  # voided then
    assert ledger.balance("acme", T0).total == 2000
    assert ledger.balance("acme", T0 - timedelta(seconds=1)).total == 0
    assert ledger.balance("acme").total == ledger.balance("acme", expires + timedelta(days=2)).total
