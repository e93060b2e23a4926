"""The port change: journal entries carry the legal entity and dimensions from the mappings' GL
tables, per entry and per line, through recognition to every sink (the files sink included);
entries made without them keep their ids."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest

from adapters.files.sink import CSV_COLUMNS, LEGACY_CSV_COLUMNS, FilesSink
from connector.errors import InvalidInput
from connector.journal import Dimensions, EntryKind, JournalEntry, JournalLine
from connector.recognition.entries import Mode, PoolDelta, drafts
from connector.recognition.state import Figures
from mappings.gl import GLAccounts, LineDimensions

PLAIN = GLAccounts(
    deferred_revenue="2350",
    revenue="4010",
    breakage_revenue="4015",
    refunds="4090",
    clearing="1205",
)
WITH_DIMENSIONS = PLAIN.model_copy(
    update={
        "dimensions": Dimensions(class_="2", location="7"),
        "line_dimensions": LineDimensions(revenue=Dimensions(department="10")),
    }
)


def delta(accounts: GLAccounts, entity: str | None = "acme-gmbh", pool: int = 1) -> PoolDelta:
    return PoolDelta(
        pool_id=pool,
        period="2026-10",
        late=False,
        figures=Figures(revenue=2500),
        currency="EUR",
        entity=entity,
        accounts=accounts,
        source_key=f"files:ord_{pool}:1",
        cohort="2026-09",
    )


def only_entry(accounts: GLAccounts, entity: str | None = "acme-gmbh") -> JournalEntry:
    (draft,) = drafts([delta(accounts, entity)], Mode.SUMMARIZED)
    return draft.entry(1, date(2026, 10, 31))


def test_the_entry_names_the_entity_and_the_rules_dimensions_per_entry_and_line() -> None:
    entry = only_entry(WITH_DIMENSIONS)
    assert entry.entity == "acme-gmbh"
    assert entry.dimensions == Dimensions(class_="2", location="7")
    deferred, revenue = entry.lines
    assert (deferred.account, deferred.dimensions) == ("2350", None)
    assert (revenue.account, revenue.dimensions) == ("4010", Dimensions(department="10"))
    assert entry.line_dimensions(deferred) == Dimensions(class_="2", location="7")
    assert entry.line_dimensions(revenue) == Dimensions(department="10", class_="2", location="7")


def test_ids_of_entries_without_dimensions_are_what_they_were_before() -> None:
    """The id hashes the group key; the key of a rule without dimensions is the old one."""
    legacy_key = json.dumps(
        [
            "recognition",
            "2026-10",
            False,
            "EUR",
            "acme-gmbh",
            list(PLAIN.codes().values()),
            "summary",
        ],
        separators=(",", ":"),
    )
    legacy_id = f"je-{hashlib.sha256(legacy_key.encode()).hexdigest()[:24]}-1"
    assert only_entry(PLAIN).id == legacy_id
    assert only_entry(PLAIN).entity == "acme-gmbh" and only_entry(PLAIN).dimensions is None


def test_dimensions_and_entity_keep_entries_apart() -> None:
    assert only_entry(WITH_DIMENSIONS).id != only_entry(PLAIN).id
    assert only_entry(PLAIN, entity=None).id != only_entry(PLAIN).id
    grouped = drafts(
        [delta(PLAIN, pool=1), delta(WITH_DIMENSIONS, pool=2), delta(PLAIN, pool=3)],
        Mode.SUMMARIZED,
    )
    assert sorted(d.pool_ids for d in grouped) == [(1, 3), (2,)]


def test_stored_payloads_from_before_still_read() -> None:
    old = {
        "id": "je-x-1",
        "kind": "recognition",
        "period": "2026-10",
        "entry_date": "2026-10-31",
        "currency": "USD",
        "lines": [{"account": "2350", "debit": 5}, {"account": "4010", "credit": 5}],
    }
    entry = JournalEntry.model_validate(old)
    assert entry.entity is None and entry.dimensions is None
    assert JournalEntry.model_validate(entry.model_dump(mode="json")) == entry


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_the_files_sink_writes_and_reads_back_entity_and_dimensions(
    tmp_path: Path, fmt: str
) -> None:
    sink = FilesSink(tmp_path, fmt)
    entry = only_entry(WITH_DIMENSIONS)
    sink.post(entry)
    (stored,) = sink.stored("2026-10")
    assert stored.entry == entry
    (posting,) = sink.posted("2026-10")
    assert posting.entity == "acme-gmbh"
    assert posting.lines[1].dimensions == Dimensions(department="10")
    if fmt == "csv":
        header, _first, second = (tmp_path / "journal-2026-10.csv").read_text().splitlines()
        assert header.split(",") == list(CSV_COLUMNS)
        row = dict(zip(CSV_COLUMNS, second.split(","), strict=True))
        assert (row["entity"], row["entry_class"], row["line_department"]) == (
            "acme-gmbh",
            "2",
            "10",
        )


def test_a_csv_journal_begun_before_dimensions_is_still_read_and_appended_to(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal-2026-10.csv"
    path.write_text(
        ",".join(LEGACY_CSV_COLUMNS)
        + "\nfiles:2026-10:000001,je-old-1,recognition,2026-10,2026-10-31,USD,false,m,,,"
        "2026-11-01T00:00:00+00:00,1,2,2350,5,,\n"
        "files:2026-10:000001,je-old-1,recognition,2026-10,2026-10-31,USD,false,m,,,"
        "2026-11-01T00:00:00+00:00,2,2,4010,,5,\n"
    )
    sink = FilesSink(tmp_path, "csv")
    plain = JournalEntry(
        id="je-new-1",
        kind=EntryKind.RECOGNITION,
        period="2026-10",
        entry_date=date(2026, 10, 31),
        currency="USD",
        lines=(JournalLine(account="2350", debit=7), JournalLine(account="4010", credit=7)),
    )
    assert sink.post(plain) == "files:2026-10:000002"
    assert [p.entry_id for p in sink.posted("2026-10")] == ["je-old-1", "je-new-1"]
    with pytest.raises(InvalidInput, match="without entity and dimension columns"):
        sink.post(only_entry(WITH_DIMENSIONS))
    assert [p.entry_id for p in FilesSink(tmp_path, "csv").posted("2026-10")] == [
        "je-old-1",
        "je-new-1",
    ]
