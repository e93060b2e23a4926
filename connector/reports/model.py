"""A report as data: titled columns and rows of plain values, independent of the output format."""

from __future__ import annotations

from dataclasses import dataclass, field

Value = str | int | bool | None


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    money: bool = False  # integer minor units of the row's "currency"


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Value], ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def column(self, key: str) -> list[Value]:
        return [row.get(key) for row in self.rows]
