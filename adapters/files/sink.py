"""Journal entries to files, one per accounting period: journal-2026-10.jsonl (or .csv).

Posting is idempotent on the entry id: an id already in the period's file returns the sink id it
was given and writes nothing. Each entry is appended in one write and fsync'd before its sink id
is returned, under an exclusive lock on the file (so processes and threads may share a folder).
A crash can leave a torn last entry; readers ignore it and the next post cuts it off before
appending, which is safe because whoever posted it never got a sink id and will post it again.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import ValidationError

from connector.errors import CreditsyncError, InvalidInput
from connector.journal import Dimensions, JournalEntry, PostedEntry
from connector.ports import AdapterContext
from connector.timeutil import utcnow

Format = Literal["jsonl", "csv"]
FORMATS: Final[tuple[Format, ...]] = ("jsonl", "csv")
PERIOD: Final = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
LEGACY_CSV_COLUMNS: Final = (
    "sink_id",
    "entry_id",
    "kind",
    "period",
    "entry_date",
    "currency",
    "late",
    "entry_memo",
    "pool_ids",
    "source_keys",
    "posted_at",
    "line_no",
    "line_count",
    "account",
    "debit",
    "credit",
    "line_memo",
)
DIMENSIONS: Final = ("department", "class", "location")
# entity and dimensions came later: files begun before keep their header and are still read
CSV_COLUMNS: Final = (
    *LEGACY_CSV_COLUMNS,
    "entity",
    *(f"entry_{name}" for name in DIMENSIONS),
    *(f"line_{name}" for name in DIMENSIONS),
)


class SinkFileCorrupt(CreditsyncError):
    """A complete line of a journal file cannot be read: refuse to add to it."""


@dataclass(frozen=True)
class Stored:
    sink_id: str
    entry: JournalEntry


@dataclass
class _Scan:
    stored: list[Stored]
    consumed: int  # bytes up to the end of the last complete entry
    lines: int  # physical lines in those bytes
    columns: tuple[str, ...] = CSV_COLUMNS  # the header found (CSV)


@dataclass
class _Index:
    """What this process knows of one period's file: the ids in it up to ``size`` bytes."""

    inode: int
    size: int = 0
    lines: int = 0
    ids: dict[str, str] = field(default_factory=dict)
    columns: tuple[str, ...] = CSV_COLUMNS


class FilesSink:
    """JournalSink writing one JSONL (default) or CSV file per period into ``directory``."""

    name = "files"

    def __init__(
        self,
        directory: Path | str,
        format: str = "jsonl",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if format not in FORMATS:
            raise InvalidInput("format", f"{format!r} is not a journal file format", "jsonl or csv")
        self.directory = Path(directory)
        self.format: Format = "csv" if format == "csv" else "jsonl"
        self._clock = clock
        self._lock = threading.Lock()
        self._indexes: dict[str, _Index] = {}

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], context: AdapterContext) -> FilesSink:
        """``dir`` (default: ``journal`` under the configured output folder) and ``format``."""
        directory = settings.get("dir") or context.output_dir / "journal"
        return cls(Path(directory), str(settings.get("format", "jsonl")), context.clock)

    def path_for(self, period: str) -> Path:
        if not isinstance(period, str) or not PERIOD.fullmatch(period):
            raise InvalidInput("period", f"{period!r} is not a period", "use YYYY-MM, e.g. 2026-10")
        return self.directory / f"journal-{period}.{self.format}"

    def post(self, entry: JournalEntry) -> str:
        """Append ``entry`` to its period's file once; its sink id, e.g. files:2026-10:000017."""
        path = self.path_for(entry.period)
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            created = not path.exists()
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                index = self._catch_up(fd, path, entry.period)
                if entry.id in index.ids:
                    return index.ids[entry.id]
                sink_id = f"files:{entry.period}:{len(index.ids) + 1:06d}"
                payload = self._encode(entry, sink_id, header=index.size == 0, index=index)
                os.lseek(fd, index.size, os.SEEK_SET)
                view = memoryview(payload)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
                index.size += len(payload)
                index.lines += payload.count(b"\n")
                index.ids[entry.id] = sink_id
            finally:
                os.close(fd)  # releases the lock
            if created:
                _fsync_directory(self.directory)
            return sink_id

    def posted(self, period: str) -> list[PostedEntry]:
        """Every complete entry in the period's file, in the order it was posted."""
        return [
            PostedEntry(
                sink_id=stored.sink_id,
                entry_id=stored.entry.id,
                period=stored.entry.period,
                entry_date=stored.entry.entry_date,
                currency=stored.entry.currency,
                lines=stored.entry.lines,
                entity=stored.entry.entity,
            )
            for stored in self.stored(period)
        ]

    def stored(self, period: str) -> list[Stored]:
        """The entries as written (with memos, pool ids and source keys)."""
        path = self.path_for(period)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return []
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            size = os.fstat(fd).st_size
            data = os.pread(fd, size, 0) if size else b""
        finally:
            os.close(fd)
        return self._scan(data, 0, path, header=True).stored

    def _catch_up(self, fd: int, path: Path, period: str) -> _Index:
        """Read what was appended since this process last looked; cut off a torn tail."""
        status = os.fstat(fd)
        index = self._indexes.get(period)
        if index is None or index.inode != status.st_ino or status.st_size < index.size:
            index = _Index(inode=status.st_ino)
            self._indexes[period] = index
        if status.st_size > index.size:
            data = os.pread(fd, status.st_size - index.size, index.size)
            scan = self._scan(data, index.lines, path, index.size == 0, index.columns)
            if index.size == 0:
                index.columns = scan.columns
            for stored in scan.stored:
                index.ids.setdefault(stored.entry.id, stored.sink_id)
            index.size += scan.consumed
            index.lines += scan.lines
            if index.size < status.st_size:
                os.ftruncate(fd, index.size)
        return index

    def _encode(self, entry: JournalEntry, sink_id: str, header: bool, index: _Index) -> bytes:
        posted_at = self._clock().isoformat()
        if self.format == "jsonl":
            record = {
                "sink_id": sink_id,
                "posted_at": posted_at,
                "entry": entry.model_dump(mode="json"),
            }
            return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        columns = CSV_COLUMNS if header else index.columns
        if columns != CSV_COLUMNS and (entry.entity or entry.dimensions or _line_dimensions(entry)):
            raise InvalidInput(
                "format",
                f"journal-{entry.period}.csv was begun without entity and dimension columns, "
                f"and entry {entry.id} has them",
                "move the file aside (post again and it is rewritten whole), or use jsonl",
            )
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if header:
            writer.writerow(CSV_COLUMNS)
        for number, line in enumerate(entry.lines, 1):
            own = line.dimensions or Dimensions()
            whole = entry.dimensions or Dimensions()
            writer.writerow(
                (
                    sink_id,
                    entry.id,
                    entry.kind.value,
                    entry.period,
                    entry.entry_date.isoformat(),
                    entry.currency,
                    "true" if entry.late else "false",
                    entry.memo,
                    ";".join(str(pool_id) for pool_id in entry.pool_ids),
                    ";".join(entry.source_keys),
                    posted_at,
                    number,
                    len(entry.lines),
                    line.account,
                    line.debit or "",
                    line.credit or "",
                    line.memo,
                    *(
                        ()
                        if columns != CSV_COLUMNS
                        else (
                            entry.entity or "",
                            *_dimension_cells(whole),
                            *_dimension_cells(own),
                        )
                    ),
                )
            )
        return buffer.getvalue().encode()

    def _scan(
        self,
        data: bytes,
        lines_before: int,
        path: Path,
        header: bool,
        columns: tuple[str, ...] = CSV_COLUMNS,
    ) -> _Scan:
        if self.format == "jsonl":
            return _scan_jsonl(data, lines_before, path)
        return _scan_csv(data, lines_before, path, header, columns)


def _scan_jsonl(data: bytes, lines_before: int, path: Path) -> _Scan:
    stored: list[Stored] = []
    offset = 0
    line = lines_before
    while (end := data.find(b"\n", offset)) >= 0:  # a last line without "\n" is torn
        line += 1
        raw = data[offset:end]
        offset = end + 1
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            stored.append(Stored(record["sink_id"], JournalEntry.model_validate(record["entry"])))
        except (ValueError, KeyError, TypeError, InvalidInput) as exc:  # incl. ValidationError
            raise SinkFileCorrupt(f"{path} line {line} cannot be read: {_short(exc)}") from None
    return _Scan(stored, offset, line - lines_before)


class _Lines:
    """Complete lines of ``data`` as text, with the bytes and lines handed out so far."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.consumed = 0
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        while (end := self.data.find(b"\n", self.consumed)) >= 0:
            text = self.data[self.consumed : end + 1].decode()
            self.consumed = end + 1
            self.count += 1
            yield text

    @property
    def exhausted(self) -> bool:
        return self.data.find(b"\n", self.consumed) < 0


def _scan_csv(
    data: bytes, lines_before: int, path: Path, header: bool, columns: tuple[str, ...]
) -> _Scan:
    source = _Lines(data)
    reader = csv.reader(iter(source), strict=True)
    stored: list[Stored] = []
    committed = (0, 0)  # (bytes, lines) after the last complete entry
    group: list[dict[str, str]] = []
    found = columns
    try:
        if header:
            try:
                found = tuple(next(reader))
            except StopIteration:
                return _Scan([], 0, 0)
            if found not in (CSV_COLUMNS, LEGACY_CSV_COLUMNS):
                raise SinkFileCorrupt(
                    f"{path} line 1 is not the journal header ({','.join(CSV_COLUMNS)})"
                )
            committed = (source.consumed, source.count)
        for cells in reader:
            line = lines_before + source.count
            if len(cells) != len(found):
                raise SinkFileCorrupt(
                    f"{path} line {line} has {len(cells)} cells, not {len(found)}"
                )
            row = dict(zip(found, cells, strict=True))
            if (row["line_no"] == "1") != (not group) or (
                group and row["entry_id"] != group[0]["entry_id"]
            ):
                raise SinkFileCorrupt(
                    f"{path} line {line}: the rows of entry {row['entry_id']} are out of order"
                )
            group.append(row)
            if row["line_no"] == row["line_count"]:
                stored.append(_entry_from_rows(group, path, line))
                group = []
                committed = (source.consumed, source.count)
    except csv.Error as exc:
        if not source.exhausted:  # an unterminated quote at the very end is a torn write
            raise SinkFileCorrupt(
                f"{path} line {lines_before + source.count} is not valid CSV: {exc}"
            ) from None
    return _Scan(stored, committed[0], committed[1], found)


def _dimension_cells(dimensions: Dimensions) -> tuple[str, str, str]:
    return (dimensions.department or "", dimensions.class_ or "", dimensions.location or "")


def _dimensions(row: dict[str, str], prefix: str) -> dict[str, str] | None:
    values = {name: row.get(f"{prefix}_{name}", "") for name in DIMENSIONS}
    return {name: value for name, value in values.items() if value} or None


def _line_dimensions(entry: JournalEntry) -> bool:
    return any(line.dimensions for line in entry.lines)


def _entry_from_rows(rows: list[dict[str, str]], path: Path, line: int) -> Stored:
    first = rows[0]
    try:
        entry = JournalEntry.model_validate(
            {
                "id": first["entry_id"],
                "kind": first["kind"],
                "period": first["period"],
                "entry_date": first["entry_date"],
                "currency": first["currency"],
                "late": first["late"] == "true",
                "memo": first["entry_memo"],
                "entity": first.get("entity") or None,
                "dimensions": _dimensions(first, "entry"),
                "pool_ids": [int(p) for p in first["pool_ids"].split(";") if p],
                "source_keys": [k for k in first["source_keys"].split(";") if k],
                "lines": [
                    {
                        "account": row["account"],
                        "debit": int(row["debit"] or 0),
                        "credit": int(row["credit"] or 0),
                        "memo": row["line_memo"],
                        "dimensions": _dimensions(row, "line"),
                    }
                    for row in rows
                ],
            }
        )
    except (ValueError, ValidationError, InvalidInput) as exc:
        raise SinkFileCorrupt(f"{path} line {line} cannot be read: {_short(exc)}") from None
    return Stored(first["sink_id"], entry)


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            ".".join(str(part) for part in error["loc"])
            + (": " if error["loc"] else "")
            + str(error["msg"]).removeprefix("Value error, ")
            for error in exc.errors()
        )
    return str(exc) or type(exc).__name__


def _fsync_directory(directory: Path) -> None:
    """Make a new file's directory entry durable too (POSIX)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
