"""One line of a JSONL file, or one row of a CSV file, into a canonical event.

Every refusal is a ``LineError`` naming the field (for CSV, the column) so that the source can
report "file, line, field" without guessing. Amounts are integers in minor units; timestamps
need an offset; the platform of every source key is "files".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from connector.errors import InvalidInput
from connector.events import CanonicalEvent
from connector.money import normalize_currency
from connector.timeutil import parse_instant

PLATFORM: Final = "files"
KINDS: Final = ("purchase", "refund", "credit_note", "dispute", "void")

COLUMNS: Final = (
    "kind",
    "object_id",
    "line_id",
    "occurred_at",
    "customer_id",
    "customer_email",
    "customer_name",
    "item_id",
    "quantity",
    "net_amount",
    "tax_amount",
    "currency",
    "period_end",
    "target_object",
    "target_line",
    "amount",
    "outcome",
    "description",
)
REQUIRED_COLUMNS: Final = ("kind", "object_id", "occurred_at", "currency")
_COMMON: Final = frozenset({"kind", "object_id", "line_id", "occurred_at", "currency"})
_BY_KIND: Final[dict[str, frozenset[str]]] = {
    "purchase": frozenset(
        {
            "customer_id",
            "customer_email",
            "customer_name",
            "item_id",
            "quantity",
            "net_amount",
            "tax_amount",
            "period_end",
            "description",
        }
    ),
    "refund": frozenset({"target_object", "target_line", "amount"}),
    "credit_note": frozenset({"target_object", "target_line", "amount"}),
    "dispute": frozenset({"target_object", "amount", "outcome"}),
    "void": frozenset({"target_object"}),
}
_INTEGER_COLUMNS: Final = ("quantity", "net_amount", "tax_amount", "amount")
_INTEGER: Final = re.compile(r"[+-]?\d+")
# where a model field comes from in a CSV row, for error messages
_CSV_FIELD: Final = {
    "source.object_id": "object_id",
    "source.line_id": "line_id",
    "customer.external_id": "customer_id",
    "customer.email": "customer_email",
    "customer.name": "customer_name",
}

EVENT: Final[TypeAdapter[CanonicalEvent]] = TypeAdapter(CanonicalEvent)


class LineError(Exception):
    """What is wrong with one record: the field, the problem, and the fix."""

    def __init__(self, field: str, problem: str, fix: str = "") -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.fix = fix
        self.also: list[LineError] = []  # further problems of the same record

    def all(self) -> list[LineError]:
        return [self, *self.also]


def event_from_json(text: str) -> CanonicalEvent:
    """A JSONL line: an event as ``connector.events`` dumps it, with its "kind"."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LineError("", f"is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise LineError("", "is not a JSON object", "write one event object per line")
    _require_kind(data.get("kind"))
    source = data.get("source")
    if source is None and "object_id" in data:  # flat form, the same names as the CSV columns
        source = {"object_id": data.pop("object_id"), "line_id": data.pop("line_id", "")}
    if not isinstance(source, dict):
        raise LineError("source", "is required", 'give {"object_id": ..., "line_id": ...}')
    platform = source.setdefault("platform", PLATFORM)
    if platform != PLATFORM:
        raise LineError(
            "source.platform",
            f"is {platform!r}; events read from a file belong to platform {PLATFORM!r}",
            f'set it to "{PLATFORM}" or leave it out',
        )
    data["source"] = source
    if "customer" not in data and "customer_id" in data:  # flat form, as the CSV columns
        data["customer"] = {
            "external_id": data.pop("customer_id"),
            "email": data.pop("customer_email", None),
            "name": data.pop("customer_name", None),
        }
    for name in ("occurred_at", "period_end"):
        if data.get(name) is not None:
            data[name] = _instant(data[name], name)
    if "currency" in data:
        data["currency"] = _currency(data["currency"])
    return _validate(data, {})


def event_from_row(row: Mapping[str, str]) -> CanonicalEvent:
    """A CSV row, given as column -> cell; empty cells are absent values."""
    cells = {name: value.strip() for name, value in row.items() if value and value.strip()}
    kind = _require_kind(cells.get("kind"))
    allowed = _COMMON | _BY_KIND[kind]
    for name in cells:
        if name not in allowed:
            raise LineError(name, f"does not apply to a {kind}", "leave the cell empty")
    for name in ("object_id", "occurred_at", "currency"):
        if name not in cells:
            raise LineError(name, "is required")
    data: dict[str, Any] = {
        "kind": kind,
        "source": {
            "platform": PLATFORM,
            "object_id": cells["object_id"],
            "line_id": cells.get("line_id", ""),
        },
        "occurred_at": _instant(cells["occurred_at"], "occurred_at"),
        "currency": _currency(cells["currency"]),
    }
    for name in _INTEGER_COLUMNS:
        if name in cells:
            data[name] = _integer(cells[name], name)
    if kind == "purchase":
        if "customer_id" not in cells:
            raise LineError("customer_id", "is required for a purchase")
        data["customer"] = {
            "external_id": cells["customer_id"],
            "email": cells.get("customer_email"),
            "name": cells.get("customer_name"),
        }
        for name in ("item_id", "description"):
            if name in cells:
                data[name] = cells[name]
        if "period_end" in cells:
            data["period_end"] = _instant(cells["period_end"], "period_end")
    else:
        for name in ("target_object", "target_line", "outcome"):
            if name in cells:
                data[name] = cells[name]
    return _validate(data, _CSV_FIELD)


def check_header(names: Sequence[str]) -> list[str]:
    """The header's column names, or LineError naming the unknown, repeated or missing one."""
    columns = [name.strip().lower() for name in names]
    for name in columns:
        if name not in COLUMNS:
            raise LineError(name, "is not a known column", f"columns: {', '.join(COLUMNS)}")
        if columns.count(name) > 1:
            raise LineError(name, "appears more than once in the header")
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            raise LineError(name, "is a required column and the header lacks it")
    return columns


def _require_kind(kind: object) -> str:
    if kind not in KINDS:
        raise LineError("kind", f"{kind!r} is not an event kind", f"one of {', '.join(KINDS)}")
    assert isinstance(kind, str)
    return kind


def _instant(value: object, field: str) -> Any:
    if not isinstance(value, str):
        raise LineError(field, f"{value!r} is not a timestamp", "write ISO 8601 text with offset")
    try:
        return parse_instant(value, field)
    except InvalidInput as exc:
        raise LineError(field, exc.problem, exc.fix or "e.g. 2026-10-01T12:00:00Z") from None


def _currency(value: object) -> str:
    try:
        return normalize_currency(value if isinstance(value, str) else repr(value))
    except InvalidInput as exc:
        raise LineError("currency", exc.problem, exc.fix) from None


def _integer(text: str, field: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise LineError(
            field,
            f"{text!r} is not an integer",
            "amounts are in minor units (1250 for 12.50 USD) and quantities are whole numbers",
        )
    return int(text)


def _validate(data: dict[str, Any], renames: Mapping[str, str]) -> CanonicalEvent:
    try:
        return EVENT.validate_python(data)
    except InvalidInput as exc:
        raise LineError(exc.field, exc.problem, exc.fix) from None
    except ValidationError as exc:
        errors = [_line_error(error, data, renames) for error in exc.errors()]
        errors[0].also = errors[1:]
        raise errors[0] from None


def _line_error(error: Any, data: dict[str, Any], renames: Mapping[str, str]) -> LineError:
    loc = [str(part) for part in error["loc"]]
    if loc and loc[0] == data.get("kind"):
        loc = loc[1:]  # the union's tag, not a field
    field = ".".join(loc)
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"is not a field of a {data.get('kind')}"
    elif error["type"] == "missing":
        message = "is required"
    elif not isinstance(error.get("input"), dict):
        message += f", got {error['input']!r}"
    return LineError(renames.get(field, field), message)
