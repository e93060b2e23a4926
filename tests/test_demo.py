"""The demo at a small size: the whole main job, end to end, and finance's numbers tie."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.demo.run import run_demo
from connector.demo.story import MONTHS, story
from connector.events import Dispute, Refund
from connector.reports.rollforward import rollforward


def test_the_story_is_deterministic_and_has_every_kind_of_event() -> None:
    months = story(customers=8, burns_per_customer=5)
    again = story(customers=8, burns_per_customer=5)
    assert [m.events for m in months] == [m.events for m in again]
    kinds = {e.kind for m in months for e in m.events}
    assert kinds == {"purchase", "refund", "dispute"}
    assert len(months) == MONTHS and all(
        m.burns == sorted(m.burns, key=lambda b: b.occurred_at) for m in months
    )


def test_a_small_demo_runs_end_to_end_and_its_rollforward_ties(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo", customers=8, burns_per_customer=8)
    counts = result.counts
    assert counts["purchase.granted"] > 0 and counts["burns"] > 0
    assert counts["refund.applied"] > 0 and counts["dispute.applied"] == 1
    assert counts["journal entries posted"] > 0
    assert counts["periods reconciled"] == MONTHS
    assert counts["reconciliation differences"] == 0 and counts["tie-out differences"] == 0
    assert result.runtime.ledger.verify() == []
    with result.runtime.engine.connect() as conn:
        report = rollforward(conn, "UTC")
    assert report.rows, "the rollforward has a row per period"
    assert {row["check"] for row in report.rows} == {"ties"}
    assert len(list((tmp_path / "demo" / "out" / "journal").glob("journal-*.jsonl"))) > 1


def test_the_demo_command_prints_the_rollforward_and_writes_the_chart(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = CliRunner().invoke(
        app, ["demo", "--folder", str(folder), "--customers", "4", "--burns-per-customer", "4"]
    )
    assert result.exit_code == 0, result.output
    assert "Deferred revenue rollforward" in result.output
    assert "ledger verified" in result.output
    png = folder / "waterfall.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(png) in result.output.replace("\n", "")


@pytest.mark.parametrize("customers", [4, 6, 7, 12, 24, 40])
def test_the_story_never_disputes_money_it_refunded(customers: int) -> None:
    events = [e for month in story(customers=customers, burns_per_customer=2) for e in month.events]
    refunded = {e.target_object for e in events if isinstance(e, Refund)}
    disputed = {e.target_object for e in events if isinstance(e, Dispute)}
    assert refunded and not refunded & disputed
