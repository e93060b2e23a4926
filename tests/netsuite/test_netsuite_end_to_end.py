"""End to end through the command line: the demo's year posted to the NetSuite stand-in and
reconciled; differences made in NetSuite found and repaired; a closed period in NetSuite leaving
entries blocked until `creditsync post --redate-to` moves them."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.netsuite.external_id import decode, encode
from connector.cli import app
from connector.demo.run import run_demo
from connector.journal import EntryKind
from connector.outbox import store as outbox
from connector.recognition.closing import first_open
from connector.reconcile import records
from connector.reconcile.plan import repost_id
from connector.reconcile.redate import blocked
from connector.settings import get_settings
from tests.netsuite.netsuite_fake import FakeNetSuite, raw_settings
from tests.test_reconcile_helpers import OCT, SEP, build_book


def configure(folder: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch, **top: str) -> None:
    """creditsync.toml in the working folder: a NetSuite connection as the journal sink."""
    lines = [f"{key} = {json.dumps(value)}" for key, value in top.items()]
    lines += ['journal_sinks = ["netsuite"]', "", "[connections.netsuite]", 'platform = "netsuite"']
    lines += ["", "[connections.netsuite.settings]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in raw_settings(key_file).items()]
    (folder / "creditsync.toml").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(folder)
    monkeypatch.delenv("CREDITSYNC_CONFIG", raising=False)
    get_settings.cache_clear()


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def differences(csv_output: str) -> list[tuple[str, str | None]]:
    rows = csv.DictReader(io.StringIO(csv_output.split("\n\n")[0]))
    return [(row["difference"], row["entry_id"]) for row in rows]


def untied(csv_output: str) -> list[int]:
    """The deferred-revenue differences of the tie-out, in minor units."""
    rows = csv.DictReader(io.StringIO(csv_output.split("\n\n")[1]))
    return [int(row["difference"]) for row in rows if row["result"] != "ties"]


def reconcile(period: str, *extra: str) -> tuple[int, str]:
    return cli("reconcile", "--period", period, "--sink", "netsuite", *extra)


def test_the_demo_year_posts_reconciles_and_repairs_in_netsuite(
    tmp_path: Path, key_file: Path, fake: FakeNetSuite, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = run_demo(tmp_path / "demo", customers=8, burns_per_customer=8)
    configure(
        tmp_path,
        key_file,
        monkeypatch,
        database_url=f"sqlite:///{tmp_path / 'demo' / 'creditsync.db'}",
        output_dir=str(tmp_path / "out"),
    )
    try:
        with demo.runtime.engine.connect() as conn:
            produced = sum(len(records.produced(conn, period)) for period in demo.periods)
        code, output = cli("post", "--sink", "netsuite")
        assert code == 0, output
        assert f"netsuite: {produced} posted, 0 failed" in output
        assert len(fake.journals) == produced
        for period in demo.periods:
            code, output = reconcile(period)
            assert code == 0, (period, output)
            assert "hold exactly what creditsync produced" in output

        # someone deletes one entry in NetSuite and edits the amounts of another
        by_period: dict[str, list[str]] = {}
        for journal in fake.journals.values():
            by_period.setdefault(journal.period, []).append(journal.external_id)
        deleted_period, changed_period = demo.periods[2], demo.periods[5]
        deleted, changed = by_period[deleted_period][0], by_period[changed_period][-1]
        fake.delete(deleted)
        fake.change_amount(changed, Decimal("10.00"))

        code, output = reconcile(deleted_period, "--format", "csv")
        assert code == 1
        assert differences(output) == [("missing", decode(deleted))]
        code, output = reconcile(changed_period, "--format", "csv")
        assert code == 1
        assert differences(output) == [("amount differs", decode(changed))]

        for period in (deleted_period, changed_period):
            code, output = reconcile(period, "--repair", "--yes")
            assert "repair: " in output and "0 failed" in output, output
        # the deleted entry's period is closed in creditsync: it is posted again in the first
        # open period, under a repair id whose memo names the original entry and its period
        assert deleted not in fake.journals
        original = decode(deleted)
        assert original is not None
        again = [j for j in fake.journals.values() if original in j.memo]
        assert len(again) == 1 and again[0].period != deleted_period, again

        # Every period of the year is closed in creditsync, so both corrections go into the first
        # open period: no entry differs anywhere any more; the closed periods since each edit keep
        # the deferred balance they were closed with (closed periods never change) and their
        # tie-out names the correction, so they read clean; the first open period ties.
        with demo.runtime.engine.connect() as conn:
            opening = first_open(conn)
        assert opening is not None
        missing = None
        for period in [*demo.periods, opening]:
            code, output = reconcile(period, "--format", "csv")
            assert code == 0 and differences(output) == [], (period, output)
            off = untied(output)
            if period == deleted_period:
                (missing,) = off  # what the deleted entry moved, in minor units
            if deleted_period <= period < opening:
                assert missing is not None and "corrected in" in output, (period, output)
                # the edit of 10.00 moves deferred revenue one way or the other by entry kind
                edits = [missing + 1000, missing - 1000] if period >= changed_period else [missing]
                assert len(off) == 1 and off[0] in edits, (period, output)
            else:
                assert off == [], (period, output)
    finally:
        get_settings.cache_clear()


def test_a_closed_period_in_netsuite_blocks_entries_until_they_are_redated(
    db_url: str,
    tmp_path: Path,
    key_file: Path,
    fake: FakeNetSuite,
    monkeypatch: pytest.MonkeyPatch,
    cli_settings: str,
) -> None:
    book = build_book(db_url, tmp_path)
    september = [e.id for e in book.entries(SEP)]
    october = [e.id for e in book.entries(OCT)]
    configure(tmp_path, key_file, monkeypatch)
    fake.closed.add(SEP)
    try:
        code, output = cli("post", "--sink", "netsuite")
        assert code == 1
        assert f"netsuite: {len(october)} posted, 0 failed" in output
        assert f"{len(september)} blocked" in output
        assert "--redate-to" in output and "(blocked periods: 2026-09)" in output
        with book.runtime.engine.connect() as conn:
            waiting = blocked(conn, "netsuite")
        assert sorted(w.entry_id for w in waiting) == sorted(september)
        assert {w.period for w in waiting} == {SEP}
        assert all("You cannot post to a closed period" in w.message for w in waiting)

        code, output = cli("post", "--sink", "netsuite")  # blocked stays blocked, never moved
        assert code == 1 and not any(j.period == SEP for j in fake.journals.values())
        assert all(encode(entry_id) not in fake.journals for entry_id in september)

        code, output = cli("post", "--sink", "netsuite", "--redate-to", "2026-08")
        assert code == 1 and "later, never earlier" in output

        code, output = cli("post", "--sink", "netsuite", "--redate-to", OCT)
        assert code == 0, output
        for entry_id in september:
            moved = fake.journals[encode(repost_id("netsuite", entry_id))]
            assert moved.period == OCT and moved.tran_date.startswith(OCT)
            assert moved.memo.endswith(f"re-dated from {SEP}")
        with book.runtime.engine.connect() as conn:
            assert blocked(conn, "netsuite") == []
            statuses = outbox.statuses(conn, ["netsuite"])
        assert statuses[("netsuite", "redated")] == len(september)

        code, output = reconcile(OCT)
        assert code == 0, output  # October holds its own entries and September's, re-dated
        code, output = reconcile(SEP)
        assert "hold exactly what creditsync produced" in output  # nothing expected there now
        assert any(e.kind is EntryKind.DEFERRAL for e in book.entries(SEP))
    finally:
        get_settings.cache_clear()
