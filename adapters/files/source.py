"""Canonical events from a JSONL or CSV file: backfills, exports, platforms without an adapter.

The whole file (from the cursor on) is checked before the first page is handed out, so a file
with a bad line changes nothing; the error names the file, the line and the field. The cursor is
the line where the last page ended plus a digest of the lines before it: an appended file resumes
there, and a file rewritten in place is read again from the top, which is harmless because every
event's source key (platform "files", object id, line id) makes applying it again a no-op.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TextIO

from adapters.files.records import (
    PLATFORM,
    LineError,
    check_header,
    event_from_json,
    event_from_row,
)
from connector.errors import InvalidInput
from connector.events import CanonicalEvent
from connector.ports import Page

PAGE_SIZE: Final = 1000
MAX_REPORTED: Final = 20
Format = Literal["jsonl", "csv"]
_SUFFIXES: Final[dict[str, Format]] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


@dataclass(frozen=True)
class LineProblem:
    line: int
    field: str
    problem: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", field {self.field}" if self.field else "")
        return f"{where}: {self.problem}" + (f" ({self.fix})" if self.fix else "")


class FileInputError(InvalidInput):
    """A file has bad lines; nothing from it was handed out."""

    def __init__(self, path: Path, problems: list[LineProblem], more: bool = False) -> None:
        first = problems[0]
        super().__init__(
            f"{path} line {first.line} {first.field}".rstrip(), first.problem, first.fix
        )
        self.path = path
        self.problems = problems
        listed = "\n".join(f"  {problem}" for problem in problems)
        tail = "\n  ... (only the first problems are listed)" if more else ""
        lines = len({problem.line for problem in problems})
        self.message = (
            f"{path}: {len(problems)} problem(s) on {lines} line(s), nothing was read:\n"
            f"{listed}{tail}"
        )
        self.args = (self.message,)


@dataclass(frozen=True)
class _Record:
    line: int  # where the record starts
    end_line: int  # its last physical line (CSV cells may hold newlines)
    event: CanonicalEvent | None
    problems: tuple[LineProblem, ...] = ()

    @classmethod
    def bad(cls, line: int, end_line: int, problem: LineProblem | LineError) -> _Record:
        if isinstance(problem, LineProblem):
            return cls(line, end_line, None, (problem,))
        found = tuple(LineProblem(line, e.field, e.problem, e.fix) for e in problem.all())
        return cls(line, end_line, None, found)


class _HashedLines:
    """The file's lines, counted and hashed as they are read (the cursor's digest)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self._hash = hashlib.sha256()
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._hash.update(line.encode("utf-8"))
        self.count += 1
        return line

    def digest(self) -> str:
        return self._hash.hexdigest()


class FilesSource:
    """PurchaseSource over one file; the format follows its suffix (.jsonl, .ndjson or .csv)."""

    platform = PLATFORM

    def __init__(self, path: Path | str, page_size: int = PAGE_SIZE) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in _SUFFIXES:
            raise InvalidInput(
                "path", f"{self.path} is neither JSONL nor CSV", "name it *.jsonl or *.csv"
            )
        self.format: Format = _SUFFIXES[suffix]
        if page_size < 1:
            raise InvalidInput("page_size", f"{page_size} is not a positive number of events")
        self.page_size = page_size

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> FilesSource:
        path = settings.get("path")
        if not path:
            raise InvalidInput("path", "is required", "give the .jsonl or .csv file to read")
        return cls(Path(path))

    def pages(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        """Pages of up to ``page_size`` events after ``cursor`` (None: from the first line)."""
        start = self._resume_line(cursor)
        problems: list[LineProblem] = []
        with self._open() as handle:
            for record in self._records(_HashedLines(handle), start):
                problems.extend(record.problems)
                if len(problems) > MAX_REPORTED:
                    raise FileInputError(self.path, problems[:MAX_REPORTED], more=True)
        if problems:
            raise FileInputError(self.path, problems)
        return self._pages(start)

    def fetch_objects(self, object_ids: list[str]) -> list[CanonicalEvent]:
        """A file has no remote objects to re-read: everything it holds comes through pages."""
        return []

    def _pages(self, start: int) -> Iterator[Page]:
        batch: list[CanonicalEvent] = []
        with self._open() as handle:
            read = _HashedLines(handle)
            for record in self._records(read, start):
                if record.event is None:  # the file changed after it was checked
                    raise FileInputError(self.path, list(record.problems))
                batch.append(record.event)
                if len(batch) == self.page_size:
                    yield self._page(batch, record.end_line, read)
                    batch = []
            if batch:
                yield self._page(batch, read.count, read)

    def _page(self, events: list[CanonicalEvent], line: int, read: _HashedLines) -> Page:
        cursor = {"path": str(self.path), "line": line, "digest": read.digest()}
        return Page(events=events, cursor=cursor, fetched=len(events))

    def _resume_line(self, cursor: Mapping[str, Any] | None) -> int:
        """The cursor's line when the file still starts with the lines it was taken after."""
        if not cursor or cursor.get("path") != str(self.path):
            return 0
        line = cursor.get("line")
        if not isinstance(line, int) or isinstance(line, bool) or line <= 0:
            return 0
        with self._open() as handle:
            read = _HashedLines(handle)
            for _ in read:
                if read.count == line:
                    return line if read.digest() == cursor.get("digest") else 0
        return 0

    def _open(self) -> TextIO:
        try:
            return self.path.open(encoding="utf-8-sig", newline="")
        except FileNotFoundError:
            raise InvalidInput("path", f"{self.path} does not exist") from None
        except OSError as exc:
            raise InvalidInput("path", f"{self.path} cannot be read: {exc.strerror}") from None

    def _records(self, read: _HashedLines, start: int) -> Iterator[_Record]:
        """Every record after line ``start``, parsed, or with the problem that stops it."""
        try:
            if self.format == "jsonl":
                yield from self._jsonl(read, start)
            else:
                yield from self._csv(read, start)
        except UnicodeDecodeError as exc:
            problem = LineProblem(read.count + 1, "", f"is not UTF-8 text ({exc.reason})")
            yield _Record.bad(read.count + 1, read.count + 1, problem)

    def _jsonl(self, read: _HashedLines, start: int) -> Iterator[_Record]:
        for text in read:
            number = read.count
            if number <= start or not text.strip():
                continue
            try:
                record = _Record(number, number, event_from_json(text))
            except LineError as exc:
                record = _Record.bad(number, number, exc)
            yield record

    def _csv(self, read: _HashedLines, start: int) -> Iterator[_Record]:
        reader = csv.reader(read)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _Record.bad(1, 1, LineProblem(1, "", f"is not valid CSV: {exc}"))
            return
        try:
            columns = check_header(header)
        except LineError as exc:
            yield _Record.bad(1, 1, exc)
            return
        while True:
            first = read.count + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield _Record.bad(
                    first, read.count, LineProblem(first, "", f"is not valid CSV: {exc}")
                )
                return
            if read.count <= start or not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(columns):
                problem = LineProblem(
                    first, "", f"has {len(cells)} cells and the header {len(columns)} columns"
                )
                yield _Record.bad(first, read.count, problem)
                continue
            try:
                row = dict(zip(columns, cells, strict=False))  # short rows: trailing cells empty
                record = _Record(first, read.count, event_from_row(row))
            except LineError as exc:
                record = _Record.bad(first, read.count, exc)
            yield record
