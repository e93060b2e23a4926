"""The files adapter: canonical events from JSONL / CSV, journal entries to JSONL / CSV."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.files import ADAPTER, FilesSink, FilesSource
from adapters.files.sink import SinkFileCorrupt
from adapters.files.source import FileInputError
from connector.errors import InvalidInput
from connector.events import CanonicalEvent, Dispute, Purchase, Refund, SourceKey
from connector.journal import EntryKind, JournalEntry, JournalLine
from connector.ports import AdapterContext, JournalSink, PurchaseSource, adapter

DATA = Path(__file__).parent / "data" / "files"
POSTED_AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
CONTEXT = AdapterContext(output_dir=Path("/nonexistent/out"), clock=lambda: POSTED_AT)
HEADER = (DATA / "events.csv").read_text(encoding="utf-8").splitlines()[0]


def read_all(source: FilesSource, cursor: dict[str, object] | None = None) -> list[CanonicalEvent]:
    return [event for page in source.pages(cursor) for event in page.events]


def purchase_line(number: int, object_id: str = "inv") -> str:
    return json.dumps(
        {
            "kind": "purchase",
            "object_id": f"{object_id}-{number}",
            "occurred_at": "2026-01-01T00:00:00Z",
            "currency": "USD",
            "customer": {"external_id": f"cust-{number % 7}"},
            "item_id": "credits-1k",
            "quantity": 1,
            "net_amount": 1000 + number,
        }
    )


# --- source -------------------------------------------------------------------------------


def test_jsonl_events_are_read_as_canonical_events() -> None:
    events = read_all(FilesSource(DATA / "events.jsonl"))
    assert [event.kind for event in events] == [
        "purchase",
        "purchase",
        "purchase",
        "purchase",
        "refund",
        "credit_note",
        "dispute",
        "void",
    ]
    first = events[0]
    assert isinstance(first, Purchase)
    assert first.source == SourceKey(platform="files", object_id="inv-1001", line_id="1")
    assert (first.quantity, first.net_amount, first.tax_amount) == (2, 20000, 1650)
    assert first.customer.name == "Acme, Inc."
    third = events[2]
    assert isinstance(third, Purchase)
    assert third.currency == "EUR"
    assert third.occurred_at == datetime(2026, 1, 31, 23, tzinfo=UTC)
    assert third.period_end == datetime(2026, 2, 28, 23, tzinfo=UTC)
    refund = events[4]
    assert isinstance(refund, Refund)
    assert (refund.target_object, refund.target_line, refund.amount) == ("inv-1001", "1", 5000)
    dispute = events[6]
    assert isinstance(dispute, Dispute) and dispute.outcome == "lost"


def test_csv_with_the_documented_columns_reads_the_same_events() -> None:
    from_csv = read_all(FilesSource(DATA / "events.csv"))
    from_jsonl = read_all(FilesSource(DATA / "events.jsonl"))
    assert from_csv == from_jsonl


def test_jsonl_purchase_lines_accept_the_customer_flat_as_csv_does(tmp_path: Path) -> None:
    nested = (DATA / "events.jsonl").read_text(encoding="utf-8").splitlines()[0]
    data = json.loads(nested)
    customer = data.pop("customer")
    flat = {
        **data,
        "customer_id": customer["external_id"],
        "customer_email": customer["email"],
        "customer_name": customer["name"],
    }
    path = tmp_path / "flat.jsonl"
    path.write_text(json.dumps(flat) + "\n", encoding="utf-8")
    (event,) = read_all(FilesSource(path))
    assert event == read_all(FilesSource(DATA / "events.jsonl"))[0]


def test_events_written_as_jsonl_read_back_equal(tmp_path: Path) -> None:
    events = read_all(FilesSource(DATA / "events.csv"))
    path = tmp_path / "copy.jsonl"
    path.write_text("".join(event.model_dump_json() + "\n" for event in events), encoding="utf-8")
    assert read_all(FilesSource(path)) == events


def test_csv_with_a_byte_order_mark_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    text = (DATA / "events.csv").read_text(encoding="utf-8")
    path.write_text("\ufeff" + text.replace("\n", "\r\n") + "\r\n,,,\r\n", encoding="utf-8")
    assert read_all(FilesSource(path)) == read_all(FilesSource(DATA / "events.csv"))


def test_pages_hold_up_to_a_thousand_events_and_resume_after_the_cursor(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text("".join(purchase_line(n) + "\n" for n in range(2500)), encoding="utf-8")
    source = FilesSource(path)
    pages = list(source.pages(None))
    assert [len(page.events) for page in pages] == [1000, 1000, 500]
    assert [page.cursor["line"] for page in pages] == [1000, 2000, 2500]
    assert [page.fetched for page in pages] == [1000, 1000, 500]
    resumed = [e.source.object_id for e in read_all(source, pages[0].cursor)]
    assert resumed == [f"inv-{n}" for n in range(1000, 2500)]
    assert list(source.pages(pages[-1].cursor)) == []
    with path.open("a", encoding="utf-8") as handle:
        handle.write(purchase_line(2500) + "\n" + purchase_line(2501) + "\n")
    appended = [e.source.object_id for e in read_all(source, pages[-1].cursor)]
    assert appended == ["inv-2500", "inv-2501"]


def test_re_reading_the_same_file_gives_the_same_source_keys(tmp_path: Path) -> None:
    first = [e.source for e in read_all(FilesSource(DATA / "events.csv"))]
    copy = tmp_path / "again.csv"
    shutil.copy(DATA / "events.csv", copy)
    again = [e.source for e in read_all(FilesSource(copy))]
    assert first == again
    assert len(set(first)) == len(first)


def test_a_file_rewritten_in_place_is_read_again_from_the_top(tmp_path: Path) -> None:
    path = tmp_path / "rewritten.jsonl"
    path.write_text(purchase_line(1) + "\n" + purchase_line(2) + "\n", encoding="utf-8")
    source = FilesSource(path)
    (page,) = source.pages(None)
    path.write_text(
        purchase_line(1, "other") + "\n" + purchase_line(2) + "\n" + purchase_line(3) + "\n"
    )
    ids = [e.source.object_id for e in read_all(source, page.cursor)]
    assert ids == ["other-1", "inv-2", "inv-3"]
    assert [e.source.object_id for e in read_all(source, {**page.cursor, "path": "x.jsonl"})] == ids


def test_csv_pages_resume_after_multi_line_cells(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    rows = [HEADER]
    for n in range(5):
        rows.append(
            f"purchase,inv-{n},,2026-01-01T00:00:00Z,cust-1,,,credits-1k,1,100,,USD,,,,,,"
            f'"line one\nline two {n}"'
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    source = FilesSource(path, page_size=2)
    pages = list(source.pages(None))
    assert [len(p.events) for p in pages] == [2, 2, 1]
    assert [p.cursor["line"] for p in pages] == [5, 9, 11]
    second = read_all(source, pages[0].cursor)
    assert [e.source.object_id for e in second] == ["inv-2", "inv-3", "inv-4"]
    assert isinstance(second[0], Purchase) and second[0].description == "line one\nline two 2"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 1: is not valid JSON: Expecting property name"),
        ("[1, 2]", "line 1: is not a JSON object"),
        ('{"kind": "sale"}', "line 1, field kind: 'sale' is not an event kind"),
        (
            purchase_line(1).replace('"net_amount": 1001', '"net_amount": 10.01'),
            "line 1, field net_amount: Input should be a valid integer, got 10.01",
        ),
        (
            purchase_line(1).replace("2026-01-01T00:00:00Z", "2026-01-01T00:00:00"),
            "line 1, field occurred_at: datetime has no timezone",
        ),
        (
            purchase_line(1).replace('"USD"', '"usdollar"'),
            "line 1, field currency: 'usdollar' is not an ISO 4217 currency code",
        ),
        (
            purchase_line(1).replace(
                '"object_id": "inv-1"', '"source": {"platform": "stripe", "object_id": "in_1"}'
            ),
            "line 1, field source.platform: is 'stripe'; events read from a file belong to "
            "platform 'files'",
        ),
        (
            purchase_line(1).replace('"quantity": 1', '"quantity": 0'),
            "line 1, field quantity: Input should be greater than 0, got 0",
        ),
        (
            purchase_line(1).replace('"quantity": 1', '"qty": 1'),
            "line 1, field quantity: is required",
        ),
        (
            purchase_line(1).replace('"kind": "purchase"', '"kind": "refund"'),
            "line 1, field customer: is not a field of a refund",
        ),
    ],
)
def test_bad_jsonl_lines_name_the_file_line_and_field(
    tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(FileInputError) as raised:
        FilesSource(path).pages(None)
    assert str(raised.value).startswith(f"{path}: ")
    assert "on 1 line(s), nothing was read:\n  " in str(raised.value)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "purchase,inv-1,,2026-01-01T00:00:00Z,cust-1,,,credits-1k,1,12.50,,USD,,,,,,",
            "line 2, field net_amount: '12.50' is not an integer (amounts are in minor units",
        ),
        (
            "purchase,inv-1,,2026-01-01,cust-1,,,credits-1k,1,1250,,USD,,,,,,",
            "line 2, field occurred_at: datetime has no timezone",
        ),
        (
            "purchase,inv-1,,2026-01-01T00:00:00Z,,,,credits-1k,1,1250,,USD,,,,,,",
            "line 2, field customer_id: is required for a purchase",
        ),
        (
            "purchase,,,2026-01-01T00:00:00Z,cust-1,,,credits-1k,1,1250,,USD,,,,,,",
            "line 2, field object_id: is required",
        ),
        (
            "refund,re-1,,2026-01-01T00:00:00Z,,,,credits-1k,,,,USD,,inv-1,,100,,",
            "line 2, field item_id: does not apply to a refund (leave the cell empty)",
        ),
        (
            "dispute,dp-1,,2026-01-01T00:00:00Z,,,,,,,,USD,,inv-1,,100,maybe,",
            "line 2, field outcome: Input should be 'open', 'won' or 'lost', got 'maybe'",
        ),
        (
            "refund,re-1,,2026-01-01T00:00:00Z,,,,,,,,USD,,inv-1,,-5,,",
            "line 2, field amount: Input should be greater than 0, got -5",
        ),
        (
            "void,v-1,,2026-01-01T00:00:00Z,,,,,,,,USD,,inv-1,,,,,extra",
            "line 2: has 19 cells and the header 18 columns",
        ),
        (
            "purchase,inv-1,,2026-01-01T00:00:00Z,cust-1,not-an-email-but-fine,,,1,1250,,USD,,,,,,",
            "line 2, field item_id: is required",
        ),
    ],
)
def test_bad_csv_rows_name_the_file_line_and_column(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(f"{HEADER}\n{row}\n", encoding="utf-8")
    with pytest.raises(FileInputError) as raised:
        FilesSource(path).pages(None)
    assert f"{path}: 1 problem(s) on 1 line(s), nothing was read" in str(raised.value)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (HEADER.replace("net_amount", "net"), "line 1, field net: is not a known column"),
        (HEADER.replace(",currency", ""), "line 1, field currency: is a required column"),
        (HEADER + ",kind", "line 1, field kind: appears more than once"),
    ],
)
def test_bad_csv_headers(tmp_path: Path, header: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(header + "\n", encoding="utf-8")
    with pytest.raises(FileInputError, match=message):
        FilesSource(path).pages(None)


def test_a_file_with_bad_lines_hands_out_nothing_and_lists_them_all(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    lines = [purchase_line(n) for n in range(3000)]
    lines[5] = lines[5].replace('"quantity": 1', '"quantity": "one"')
    lines[2500] = "{oops"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = FilesSource(path)
    with pytest.raises(FileInputError) as raised:
        source.pages(None)
    assert [(p.line, p.field) for p in raised.value.problems] == [(6, "quantity"), (2501, "")]
    assert raised.value.field == f"{path} line 6 quantity"


def test_missing_file_and_unknown_suffix() -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        FilesSource(DATA / "nope.jsonl").pages(None)
    with pytest.raises(
        InvalidInput, match=r"is neither JSONL nor CSV \(name it \*.jsonl or \*.csv\)"
    ):
        FilesSource(DATA / "events.xlsx")
    with pytest.raises(InvalidInput, match="path: is required"):
        FilesSource.from_settings({})


def test_the_adapter_is_registered_under_files(tmp_path: Path) -> None:
    spec = adapter("files")
    assert spec is ADAPTER and spec.platform == "files"
    assert spec.source is not None and spec.sink is not None
    source = spec.source({"path": str(DATA / "events.jsonl")})
    sink = spec.sink({"dir": str(tmp_path), "format": "csv"}, CONTEXT)
    assert isinstance(source, PurchaseSource) and isinstance(sink, JournalSink)
    assert source.fetch_objects(["inv-1001"]) == []


# --- sink ---------------------------------------------------------------------------------


def journal_entry(
    number: int, period: str = "2026-10", memo: str = "", lines: int = 2
) -> JournalEntry:
    amount = 333 + number
    credits = [JournalLine(account="4010", credit=amount, memo=f"pool {number}")]
    if lines == 3:
        credits = [
            JournalLine(account="4010", credit=amount - 100, memo="consumption"),
            JournalLine(account="4015", credit=100, memo="breakage, estimated"),
        ]
    return JournalEntry(
        id=f"recognition:{period}:pool-{number}",
        kind=EntryKind.RECOGNITION,
        period=period,
        entry_date=date(int(period[:4]), int(period[5:]), 28),
        currency="USD",
        lines=(JournalLine(account="2350", debit=amount), *credits),
        memo=memo,
        pool_ids=(number, number + 1000),
        source_keys=(f"stripe:in_{number}:il_1",),
    )


@pytest.mark.parametrize("format", ["jsonl", "csv"])
def test_posting_and_reading_back(tmp_path: Path, format: str) -> None:
    sink = FilesSink(tmp_path, format)
    entries = [
        journal_entry(1, memo="plain"),
        journal_entry(2, memo='with, comma and "quotes"\nand a second line', lines=3),
        journal_entry(3, period="2026-11", memo="Größe ✓"),
    ]
    ids = [sink.post(entry) for entry in entries]
    assert ids == ["files:2026-10:000001", "files:2026-10:000002", "files:2026-11:000001"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"journal-2026-10.{format}",
        f"journal-2026-11.{format}",
    ]
    october = sink.posted("2026-10")
    assert [(p.sink_id, p.entry_id) for p in october] == list(
        zip(ids[:2], [e.id for e in entries[:2]], strict=True)
    )
    for posted, entry in zip(october, entries, strict=False):
        assert (posted.period, posted.entry_date, posted.currency, posted.lines) == (
            entry.period,
            entry.entry_date,
            entry.currency,
            entry.lines,
        )
    assert [stored.entry for stored in sink.stored("2026-10")] == entries[:2]
    assert [stored.entry for stored in FilesSink(tmp_path, format).stored("2026-11")] == entries[2:]
    assert sink.posted("2026-12") == []


@pytest.mark.parametrize("format", ["jsonl", "csv"])
def test_reposting_an_entry_writes_nothing_and_returns_its_sink_id(
    tmp_path: Path, format: str
) -> None:
    sink = FilesSink(tmp_path, format)
    first = sink.post(journal_entry(1))
    sink.post(journal_entry(2))
    path = sink.path_for("2026-10")
    before = path.read_bytes()
    assert sink.post(journal_entry(1)) == first
    assert FilesSink(tmp_path, format).post(journal_entry(1)) == first  # another process
    assert path.read_bytes() == before
    assert FilesSink(tmp_path, format).post(journal_entry(3)) == "files:2026-10:000003"
    assert sink.post(journal_entry(4)) == "files:2026-10:000004"  # sees the other's append
    assert [p.sink_id for p in sink.posted("2026-10")] == [
        f"files:2026-10:00000{n}" for n in range(1, 5)
    ]


@pytest.mark.parametrize("format", ["jsonl", "csv"])
@settings(max_examples=25, deadline=None)
@given(cut=st.floats(min_value=0.0, max_value=0.999))
def test_a_torn_last_entry_is_ignored_and_cut_off(
    tmp_path_factory: pytest.TempPathFactory, format: str, cut: float
) -> None:
    directory = tmp_path_factory.mktemp("torn")
    sink = FilesSink(directory, format)
    sink.post(journal_entry(1))
    path = sink.path_for("2026-10")
    intact = path.stat().st_size
    sink.post(journal_entry(2, memo="multi\nline, memo", lines=3))
    torn = intact + int((path.stat().st_size - intact) * cut)
    with path.open("r+b") as handle:
        handle.truncate(torn)
    fresh = FilesSink(directory, format)
    assert [p.entry_id for p in fresh.posted("2026-10")] == [journal_entry(1).id]
    assert fresh.post(journal_entry(2, memo="multi\nline, memo", lines=3)) == "files:2026-10:000002"
    assert fresh.post(journal_entry(3)) == "files:2026-10:000003"
    assert [p.entry_id for p in FilesSink(directory, format).posted("2026-10")] == [
        journal_entry(n).id for n in (1, 2, 3)
    ]


@pytest.mark.parametrize("format", ["jsonl", "csv"])
def test_concurrent_posters_write_each_entry_once(tmp_path: Path, format: str) -> None:
    sinks = [FilesSink(tmp_path, format) for _ in range(3)]
    errors: list[BaseException] = []

    def post(worker: int) -> None:
        try:
            for n in range(40):
                sinks[worker % 3].post(journal_entry((n * 7 + worker) % 60))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    posted = FilesSink(tmp_path, format).posted("2026-10")
    assert len({p.entry_id for p in posted}) == len(posted)
    assert [p.sink_id for p in posted] == [
        f"files:2026-10:{n:06d}" for n in range(1, len(posted) + 1)
    ]
    expected = {journal_entry((n * 7 + w) % 60).id for w in range(6) for n in range(40)}
    assert {p.entry_id for p in posted} == expected


def test_a_corrupt_line_inside_the_file_is_refused(tmp_path: Path) -> None:
    sink = FilesSink(tmp_path)
    sink.post(journal_entry(1))
    sink.post(journal_entry(2))
    path = sink.path_for("2026-10")
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0].replace('"debit":334', '"debit":335') + lines[1])
    with pytest.raises(SinkFileCorrupt, match=rf"{path} line 1 cannot be read: .*does not balance"):
        sink.posted("2026-10")
    with pytest.raises(SinkFileCorrupt, match="line 1"):
        FilesSink(tmp_path).post(journal_entry(3))


def test_a_csv_with_a_foreign_header_is_refused(tmp_path: Path) -> None:
    (tmp_path / "journal-2026-10.csv").write_text("account,debit,credit\n4010,1,\n")
    with pytest.raises(SinkFileCorrupt, match="line 1 is not the journal header"):
        FilesSink(tmp_path, "csv").post(journal_entry(1))


def test_sink_settings_and_periods(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="'xlsx' is not a journal file format"):
        FilesSink(tmp_path, "xlsx")
    sink = FilesSink.from_settings({"dir": str(tmp_path / "out")}, CONTEXT)
    assert sink.format == "jsonl" and sink.directory == tmp_path / "out"
    with pytest.raises(InvalidInput, match="period: '2026-13' is not a period"):
        sink.posted("2026-13")
    with pytest.raises(InvalidInput, match="is not a period"):
        sink.posted("../../etc")


def test_the_sink_takes_its_default_folder_and_clock_from_the_core(tmp_path: Path) -> None:
    context = AdapterContext(output_dir=tmp_path / "outputs", clock=lambda: POSTED_AT)
    sink = FilesSink.from_settings({}, context)
    assert sink.directory == tmp_path / "outputs" / "journal"
    sink.post(journal_entry(1))
    (record,) = (json.loads(line) for line in sink.path_for("2026-10").read_text().splitlines())
    assert record["posted_at"] == POSTED_AT.isoformat()


def test_entries_posted_on_one_day_and_read_back_keep_their_dates(tmp_path: Path) -> None:
    sink = FilesSink(tmp_path, "csv")
    entry = journal_entry(5).model_copy(update={"entry_date": date(2026, 10, 31), "late": True})
    sink.post(entry)
    (stored,) = sink.stored("2026-10")
    assert stored.entry == entry
    assert stored.entry.entry_date - date(2026, 10, 1) == timedelta(days=30)
