"""Events at the same instant take effect in the order creditsync recorded them: the ledger's
clawback and recognition's revenue split agree, whichever of a burn and a refund came first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from connector.recognition.run import recognize
from connector.runtime import Runtime
from tests.refund_rules_helpers import (
    assert_consistent,
    at,
    burn,
    credits_left,
    figures_at,
    money_events,
    refund_rules_runtime,
    sync,
)
from tests.sync_helpers import purchase, refund

SECOND = at(1, 10)


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Runtime:
    built = refund_rules_runtime(db_url, tmp_path)
    sync(built, purchase("inv_1", "credits-10", net_amount=100, at=at(1, 5)))  # 10 credits, 100
    return built


def burn_first(runtime: Runtime) -> None:
    burn(runtime, "b1", 4, SECOND)  # revenue 40, D = 60, Q = 6
    sync(runtime, refund("re_1", "inv_1", 80, SECOND))  # k = min(6, round(6 x 80 / 60)) = 6


def refund_first(runtime: Runtime) -> None:
    sync(runtime, refund("re_1", "inv_1", 80, SECOND))  # D = 100, Q = 10: k = 8
    burn(runtime, "b1", 2, SECOND)  # the last 2 credits: revenue round(20 x 2 / 2) = 20


@pytest.mark.parametrize(
    ("history", "clawed", "revenue", "refunded", "contra"),
    [(burn_first, 6, 40, 60, 20), (refund_first, 8, 20, 80, 0)],
    ids=["burn recorded first", "refund recorded first"],
)
def test_one_second_takes_effect_in_the_order_it_was_recorded(
    runtime: Runtime,
    history: Callable[[Runtime], None],
    clawed: int,
    revenue: int,
    refunded: int,
    contra: int,
) -> None:
    history(runtime)
    assert money_events(runtime, "refund") == [(80, clawed, refunded, contra)]
    assert credits_left(runtime, "inv_1") == {"paid": 0}
    figures = figures_at(runtime, "inv_1", at(2, 1))
    assert (figures["revenue"], figures["refunded"], figures["contra"]) == (
        revenue,
        refunded,
        contra,
    )
    assert_consistent(runtime, at(2, 1, 0))


def test_recognition_run_before_the_burn_arrives_agrees_once_it_has(runtime: Runtime) -> None:
    """An incremental run resumes from its saved state and still replays the recorded order."""
    recognize(runtime.engine, at(1, 8), runtime.gl_accounts)
    burn_first(runtime)
    figures = figures_at(runtime, "inv_1", at(2, 1))
    assert (figures["revenue"], figures["refunded"], figures["contra"]) == (40, 60, 20)
    assert_consistent(runtime, at(2, 1, 0))
