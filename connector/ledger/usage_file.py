"""Usage backfill files: burns read from JSONL or CSV, every line checked before any is applied.

Each line is one burn with its own idempotency key and moment, the same fields as POST
/v1/burns: ``account_id``, ``idempotency_key``, ``action``, ``units``, ``occurred_at``. A file
with a bad line is refused whole, every problem listed with its line and field, so that a backfill
never stops half way on a typo; a file applied twice burns nothing the second time.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.errors import CreditsyncError, InvalidInput
from connector.ledger.models import BurnRequest
from connector.timeutil import parse_instant

FIELDS = ("account_id", "idempotency_key", "action", "units", "occurred_at")
MAX_LISTED = 20


@dataclass(frozen=True)
class LineProblem:
    line: int
    field: str
    problem: str

    def __str__(self) -> str:
        return (
            f"line {self.line}: {self.field}: {self.problem}"
            if self.field
            else (f"line {self.line}: {self.problem}")
        )


class UsageFileRefused(CreditsyncError):
    """A usage file with bad lines: nothing was burned."""

    code = "invalid_file"

    def __init__(self, path: Path, problems: list[LineProblem]) -> None:
        shown = "; ".join(str(p) for p in problems[:MAX_LISTED])
        more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
        super().__init__(f"{path}: {len(problems)} bad line(s), nothing was burned: {shown}{more}")
        self.problems = problems


def _request(values: dict[str, Any]) -> BurnRequest:
    missing = [name for name in FIELDS if values.get(name) in (None, "")]
    if missing:
        raise InvalidInput(missing[0], "is required")
    units = values["units"]
    if isinstance(units, str) and units.strip().isdigit():
        units = int(units.strip())
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise InvalidInput("units", f"{units!r} is not a positive whole number")
    occurred = values["occurred_at"]
    if not isinstance(occurred, str):
        raise InvalidInput("occurred_at", "is not an ISO 8601 timestamp")
    for name in ("account_id", "idempotency_key", "action"):
        if not isinstance(values[name], str):
            raise InvalidInput(name, "is not text")
    return BurnRequest(
        account_id=values["account_id"].strip(),
        idempotency_key=values["idempotency_key"].strip(),
        action=values["action"].strip(),
        units=units,
        occurred_at=parse_instant(occurred.strip(), "occurred_at"),
    )


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, the line's fields or why it cannot be read)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(handle)
            unknown = sorted(set(reader.fieldnames or ()) - set(FIELDS))
            if unknown:
                yield 1, f"unknown column(s) {', '.join(unknown)}; the columns are {FIELDS}"
                return
            for row in reader:
                yield reader.line_num, dict(row)
            return
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, f"is not valid JSON: {exc.msg}"
                continue
            yield number, data if isinstance(data, dict) else "is not a JSON object"


def read_usage(path: Path) -> list[BurnRequest]:
    """Every burn in the file, or ``UsageFileRefused`` listing every bad line."""
    if path.suffix.lower() not in (".jsonl", ".csv"):
        raise InvalidInput(
            "file", f"{path.name} is neither JSONL nor CSV", "name it *.jsonl or *.csv"
        )
    if not path.is_file():
        raise InvalidInput("file", f"{path} does not exist")
    requests: list[BurnRequest] = []
    problems: list[LineProblem] = []
    keys: dict[tuple[str, str], int] = {}
    for number, record in _records(path):
        if isinstance(record, str):
            problems.append(LineProblem(number, "", record))
            continue
        try:
            request = _request(record)
        except InvalidInput as error:
            problems.append(LineProblem(number, error.field, error.problem))
            continue
        key = (request.account_id, request.idempotency_key)
        if key in keys:
            problems.append(
                LineProblem(number, "idempotency_key", f"repeats line {keys[key]}'s key")
            )
            continue
        keys[key] = number
        requests.append(request)
    if problems:
        raise UsageFileRefused(path, problems)
    return requests
