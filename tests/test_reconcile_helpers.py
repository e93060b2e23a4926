"""A small book for the reconciliation tests (no tests here): purchases in September and
October, burns, recognition in detailed mode (one entry per pool) and everything posted to a
files sink; plus ways to seed differences into the sink's files by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.journal import EntryKind, JournalEntry
from connector.ledger.models import BurnRequest
from connector.outbox.drain import drain
from connector.recognition.run import recognize
from connector.reconcile.records import produced
from connector.runtime import Runtime
from connector.sync.engine import run_sync
from tests.sync_helpers import ListSource, purchase, runtime_for

SEP = "2026-09"
OCT = "2026-10"
THROUGH = datetime(2026, 11, 1, tzinfo=UTC)
TODAY = datetime(2026, 11, 25, tzinfo=UTC).date()


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


@dataclass
class Book:
    runtime: Runtime
    journal: Path  # the files sink's folder

    def entries(self, period: str) -> list[JournalEntry]:
        """Creditsync's own entries of ``period`` (not the sink's copies)."""
        with self.runtime.engine.connect() as conn:
            return produced(conn, period)

    def entry(self, period: str, kind: EntryKind, source: str) -> JournalEntry:
        """The detailed entry of ``kind`` for the pool bought by order ``source``."""
        found = [
            e
            for e in self.entries(period)
            if e.kind is kind and any(f":{source}:" in key for key in e.source_keys)
        ]
        assert len(found) == 1, found
        return found[0]


def build_book(db_url: str, tmp_path: Path) -> Book:
    runtime = runtime_for(db_url, tmp_path)
    runtime.ledger.set_rate("query", "1", datetime(2026, 1, 1, tzinfo=UTC))
    run_sync(
        runtime,
        "files",
        source=ListSource(
            [
                [purchase("ord_sep", at=at(9, 5), net_amount=1000)],
                [
                    purchase("ord_oct_a", at=at(10, 3), net_amount=1000),
                    purchase("ord_oct_b", at=at(10, 8), customer="globex", net_amount=1000),
                    purchase("ord_oct_c", at=at(10, 9), customer="initech", net_amount=1000),
                    purchase("ord_oct_d", at=at(10, 12), customer="umbrella", net_amount=1000),
                ],
            ]
        ),
    )
    burns = [
        ("acme", at(9, 20), 100),
        ("acme", at(10, 20), 300),
        ("globex", at(10, 21), 250),
        ("initech", at(10, 22), 400),
        ("umbrella", at(10, 23), 500),
    ]
    for n, (account, moment, units) in enumerate(burns):
        runtime.ledger.burn(BurnRequest(account, f"b{n}", "query", units, moment))
    recognize(runtime.engine, THROUGH, runtime.gl_accounts, "detailed", sinks=["files"])
    journal = runtime.settings.output_dir / "journal"
    drain(runtime.engine, runtime.sink("files"))
    return Book(runtime, journal)


def path_of(journal: Path, period: str) -> Path:
    return journal / f"journal-{period}.jsonl"


def read(journal: Path, period: str) -> list[dict[str, Any]]:
    path = path_of(journal, period)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write(journal: Path, period: str, records: list[dict[str, Any]]) -> None:
    path_of(journal, period).write_text("".join(json.dumps(r) + "\n" for r in records))


def edit(journal: Path, period: str, entry_id: str, change: Any) -> None:
    """Apply ``change(entry dict)`` to the entry's record in the period's file."""
    records = read(journal, period)
    for record in records:
        if record["entry"]["id"] == entry_id:
            change(record["entry"])
    write(journal, period, records)


def remove(journal: Path, period: str, entry_id: str) -> dict[str, Any]:
    records = read(journal, period)
    kept = [r for r in records if r["entry"]["id"] != entry_id]
    assert len(kept) == len(records) - 1
    write(journal, period, kept)
    return next(r for r in records if r["entry"]["id"] == entry_id)


def append(journal: Path, period: str, record: dict[str, Any]) -> None:
    write(journal, period, [*read(journal, period), record])
