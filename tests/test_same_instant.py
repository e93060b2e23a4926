"""Events at the same instant take effect in the order creditsync recorded them: the ledger's
clawback and recognition's revenue split agree, whichever of a burn and a refund came first."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from connector.recognition.run import recognize
from connector.recognition.tables import recognition_money
from connector.runtime import Runtime
from tests.refund_rules_helpers import (
    assert_consistent,
    at,
    burn,
    credits_left,
    figures_at,
    refund,
    refund_rules_runtime,
    sync,
)
from tests.sync_helpers import purchase

SECOND = at(1, 10)


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Runtime:
    built = refund_rules_runtime(db_url, tmp_path)
    sync(built, purchase("inv_1", "credits-10", net_amount=100, at=at(1, 5)))  # 10 credits, 100
    return built


def recorded_refund(runtime: Runtime) -> tuple[int, int, int]:
    with runtime.engine.connect() as conn:
        row = conn.execute(
            select(
                recognition_money.c.credits,
                recognition_money.c.to_deferred,
                recognition_money.c.contra,
            )
        ).one()
    return row.credits, row.to_deferred, row.contra


def test_a_burn_recorded_before_a_refund_of_the_same_second_is_seen_by_it(
    runtime: Runtime,
) -> None:
    burn(runtime, "b1", 4, SECOND)  # revenue 40, D = 60, Q = 6
    sync(runtime, refund("re_1", "inv_1", 80, SECOND))  # k = min(6, round(6 x 80 / 60)) = 6
    assert recorded_refund(runtime) == (6, 60, 20)
    assert credits_left(runtime, "inv_1") == {"paid": 0}
    figures = figures_at(runtime, "inv_1", at(2, 1))
    assert (figures["revenue"], figures["refunded"], figures["contra"]) == (40, 60, 20)
    assert_consistent(runtime, at(2, 1, 0))


def test_a_refund_recorded_before_a_burn_of_the_same_second_comes_first(
    runtime: Runtime,
) -> None:
    sync(runtime, refund("re_1", "inv_1", 80, SECOND))  # D = 100, Q = 10: k = 8
    burn(runtime, "b1", 2, SECOND)  # the last 2 credits: revenue round(20 x 2 / 2) = 20
    assert recorded_refund(runtime) == (8, 80, 0)
    assert credits_left(runtime, "inv_1") == {"paid": 0}
    figures = figures_at(runtime, "inv_1", at(2, 1))
    assert (figures["revenue"], figures["refunded"], figures["contra"]) == (20, 80, 0)
    assert_consistent(runtime, at(2, 1, 0))


def test_recognition_run_before_the_burn_arrives_agrees_once_it_has(runtime: Runtime) -> None:
    """An incremental run resumes from its saved state and still replays the recorded order."""
    recognize(runtime.engine, at(1, 8), runtime.gl_accounts)
    burn(runtime, "b1", 4, SECOND)
    sync(runtime, refund("re_1", "inv_1", 80, SECOND))
    figures = figures_at(runtime, "inv_1", at(2, 1))
    assert (figures["revenue"], figures["refunded"], figures["contra"]) == (40, 60, 20)
    assert_consistent(runtime, at(2, 1, 0))
