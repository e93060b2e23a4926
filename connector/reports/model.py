"""A report as data: sections of titled columns and rows of plain values, independent of the
output format.

Money is held as integer minor units of the row's ``currency`` value; the renderers turn it into
major units with the currency's own exponent. A report has one or more sections, each a table of
its own (one sheet in a workbook), so that no column ever adds up the same money twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

Value = str | int | bool | None
Row = dict[str, Value]
GLAccountOf = Callable[[str | None, str, str | None], tuple[str, str | None]]
"""A pool's deferred-revenue GL account as (code, name) from its mapping version (None: the
current one), currency and entity; the name is None where the mapping does not name it."""


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    money: bool = False  # integer minor units of the row's "currency"
    summed: bool = False  # a flow or a count the totals row adds up (balances are not summed)


GL_COLUMNS = (
    Column("gl_account", "Deferred revenue GL account"),
    Column("gl_name", "GL account name"),
)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]

    def column(self, key: str) -> list[Value]:
        return [row.get(key) for row in self.rows]

    def totals(self) -> tuple[Row, ...]:
        """One totals row per currency (money never adds up across currencies)."""
        summed = [c for c in self.columns if c.summed]
        if not summed or not self.rows:
            return ()
        sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for line in self.rows:
            currency = str(line.get("currency") or "")
            for column in summed:
                value = line.get(column.key)
                if isinstance(value, int) and not isinstance(value, bool):
                    sums[currency][column.key] += value
        label = next((c.key for c in self.columns if c.key != "currency"), "currency")
        out: list[Row] = []
        for currency in sorted(sums):
            row: Row = {c.key: sums[currency].get(c.key, 0) for c in summed}
            row["currency"] = currency or None
            row[label] = f"Total {currency}".strip() if label != "currency" else "Total"
            out.append(row)
        return tuple(out)


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    sections: tuple[Section, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def single(
        cls,
        name: str,
        title: str,
        columns: tuple[Column, ...],
        rows: tuple[Row, ...],
        notes: tuple[str, ...] = (),
    ) -> Report:
        return cls(name, title, (Section(name, title, columns, rows),), notes)

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)

    @property
    def columns(self) -> tuple[Column, ...]:
        """The first section's columns (most reports have one section)."""
        return self.sections[0].columns

    @property
    def rows(self) -> tuple[Row, ...]:
        """The first section's rows."""
        return self.sections[0].rows

    def column(self, key: str) -> list[Value]:
        return self.sections[0].column(key)
