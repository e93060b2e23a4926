"""A full refund takes back every remaining credit; a bundle's bonus without revenue follows its
line (ACCOUNTING.md, refund paragraph). Each scenario ends verified and rebuilt."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from connector.errors import InvalidInput
from connector.ledger.models import PoolKind
from connector.ledger.pools import pools_for_object
from connector.recognition.line_refunds import apply_line_refund
from connector.runtime import Runtime
from connector.store.tables import ledger_entries
from tests.refund_rules_helpers import (
    assert_consistent,
    at,
    burn,
    credits_left,
    figures_at,
    refund_rules_runtime,
    sync,
)
from tests.sync_helpers import purchase, refund


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Runtime:
    return refund_rules_runtime(db_url, tmp_path)


def buy_1200_proportional(runtime: Runtime) -> None:
    """A = 12,000 for 1,200 credits, b = 0.25; 900 consumed: D reaches 0 with 300 left."""
    sync(runtime, purchase("inv_p", "credits-1200-proportional", net_amount=12_000, at=at(1, 5)))
    burn(runtime, "b1", 900, at(1, 10))


def test_a_full_refund_after_the_proportional_cap_takes_every_credit(runtime: Runtime) -> None:
    buy_1200_proportional(runtime)
    assert figures_at(runtime, "inv_p", at(1, 11))["deferred"] == 0
    sync(runtime, refund("re_full", "inv_p", 12_000, at(2, 1)))
    assert credits_left(runtime, "inv_p") == {"paid": 0}
    assert runtime.ledger.balance("acme").total == 0
    figures = figures_at(runtime, "inv_p", at(3, 1))
    # Nothing was deferred: the whole refund reverses recognized revenue.
    assert (figures["refunded"], figures["contra"], figures["deferred"]) == (0, 12_000, 0)
    assert_consistent(runtime, at(3, 1, 0))


def test_with_nothing_deferred_a_partial_refund_claws_back_in_step_with_the_unrefunded_amount(
    runtime: Runtime,
) -> None:
    buy_1200_proportional(runtime)
    sync(runtime, refund("re_1", "inv_p", 3_000, at(2, 1)))
    assert credits_left(runtime, "inv_p") == {"paid": 300 - 75}  # round(300 x 3000 / 12000)
    sync(runtime, refund("re_2", "inv_p", 4_500, at(2, 2)))
    assert credits_left(runtime, "inv_p") == {"paid": 225 - 112}  # round(225 x 4500 / 9000)
    sync(runtime, refund("re_3", "inv_p", 4_500, at(2, 3)))  # the rest: a full refund
    assert credits_left(runtime, "inv_p") == {"paid": 0}
    assert_consistent(runtime, at(3, 1, 0))


def test_a_refund_that_empties_the_credits_recognizes_what_is_still_deferred(
    runtime: Runtime,
) -> None:
    # 10 credits for 100; 7 consumed: revenue 70, D = 30, Q = 3. A refund of 26 claws back
    # k = round(3 x 26 / 30) = round(2.6) = 3 credits and reverses 26 of deferred: the 4 left
    # deferred have no credit left to deliver, so they are revenue at the refund.
    sync(runtime, purchase("inv_r", "credits-10", net_amount=100, at=at(1, 5)))
    burn(runtime, "b1", 7, at(1, 10))
    sync(runtime, refund("re_1", "inv_r", 26, at(1, 20)))
    assert credits_left(runtime, "inv_r") == {"paid": 0}
    before = figures_at(runtime, "inv_r", at(1, 20))
    after = figures_at(runtime, "inv_r", at(1, 21))
    assert (before["revenue"], before["deferred"]) == (70, 30)
    assert (after["revenue"], after["refunded"], after["contra"], after["deferred"]) == (
        74,
        26,
        0,
        0,
    )
    assert_consistent(runtime, at(2, 1, 0))


def test_a_full_refund_of_a_bundle_takes_its_free_bonus_too(runtime: Runtime) -> None:
    sync(runtime, purchase("inv_b", "bundle-free-bonus", net_amount=10_000, at=at(1, 5)))
    assert credits_left(runtime, "inv_b") == {"paid": 10_000, "bonus": 2_000}
    sync(runtime, refund("re_b", "inv_b", 10_000, at(1, 6)))
    assert credits_left(runtime, "inv_b") == {"paid": 0, "bonus": 0}
    assert runtime.ledger.balance("acme").total == 0
    assert_consistent(runtime, at(2, 1, 0))


def test_a_partial_refund_of_a_bundle_claws_its_free_bonus_in_step(runtime: Runtime) -> None:
    sync(runtime, purchase("inv_b", "bundle-free-bonus", net_amount=10_000, at=at(1, 5)))
    burn(runtime, "b1", 500, at(1, 6))  # the bonus goes first: 1,500 bonus left
    sync(runtime, refund("re_1", "inv_b", 2_500, at(1, 7)))
    # bonus: round(1500 x 2500 / 10000) = 375; paid: round(10000 x 2500 / 10000) = 2500
    assert credits_left(runtime, "inv_b") == {"paid": 7_500, "bonus": 1_125}
    sync(runtime, refund("re_2", "inv_b", 1_500, at(1, 8)))
    # bonus: round(1125 x 1500 / 7500) = 225; paid: round(7500 x 1500 / 7500) = 1500
    assert credits_left(runtime, "inv_b") == {"paid": 6_000, "bonus": 900}
    sync(runtime, refund("re_3", "inv_b", 6_000, at(1, 9)))
    assert credits_left(runtime, "inv_b") == {"paid": 0, "bonus": 0}
    assert_consistent(runtime, at(2, 1, 0))


def test_a_replayed_line_refund_changes_nothing_and_a_different_amount_is_refused(
    runtime: Runtime,
) -> None:
    sync(runtime, purchase("inv_b", "bundle-free-bonus", net_amount=10_000, at=at(1, 5)))
    sync(runtime, refund("re_1", "inv_b", 2_500, at(1, 7)))
    sync(runtime, refund("re_1", "inv_b", 2_500, at(1, 7)))
    assert credits_left(runtime, "inv_b") == {"paid": 7_500, "bonus": 1_500}
    with runtime.engine.begin() as conn:
        targets = pools_for_object(conn, "files", "inv_b")
        assert apply_line_refund(conn, targets, 2_500, "files:re_1:", at(1, 7)) == []
        with pytest.raises(Exception, match="already recorded 2500"):
            apply_line_refund(conn, targets, 2_000, "files:re_1:", at(1, 7))
        clawbacks = conn.execute(
            select(ledger_entries.c.credits).where(ledger_entries.c.kind == "clawback")
        ).all()
    assert len(clawbacks) == 2  # one per pool, once


def test_a_bundle_sharing_its_price_refunded_in_halves_never_over_refunds_a_pool(
    runtime: Runtime,
) -> None:
    # Paid pool 8,333, bonus pool 1,667: spread by amounts, two refunds of 5,000 would give the
    # paid pool 4,167 twice (8,334 > 8,333). Spread by what is left, each pool ends refunded.
    sync(runtime, purchase("inv_s", "credits-10k", net_amount=10_000, at=at(1, 5)))
    sync(runtime, refund("re_1", "inv_s", 5_000, at(1, 6)))
    sync(runtime, refund("re_2", "inv_s", 5_000, at(1, 7)))
    assert credits_left(runtime, "inv_s") == {"paid": 0, "bonus": 0}
    assert_consistent(runtime, at(2, 1, 0))


def test_an_over_refund_of_a_purchase_names_what_is_left(runtime: Runtime) -> None:
    sync(runtime, purchase("inv_b", "bundle-free-bonus", net_amount=10_000, at=at(1, 5)))
    sync(runtime, refund("re_1", "inv_b", 4_000, at(1, 6)))
    with runtime.engine.begin() as conn:
        targets = pools_for_object(conn, "files", "inv_b")
        assert {p.kind for p in targets} == {PoolKind.PAID, PoolKind.BONUS}
        with pytest.raises(InvalidInput, match="6000 is left unrefunded"):
            apply_line_refund(conn, targets, 6_001, "files:re_2:", at(1, 7))
