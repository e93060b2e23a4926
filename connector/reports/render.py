"""Writing a report as Rich tables, CSV, JSON or XLSX.

Every format speaks major units with the currency's own exponent (93.18 USD, 9318 JPY,
1.250 KWD). CSV and JSON carry the exact figure as decimal text and keep the integer minor units
in a ``<column>_minor`` column beside it, for scripts that add up without rounding. A workbook
gets one sheet per report section, numbers formatted per currency, a frozen header row, a totals
row per currency and columns wide enough to read. A report of several sections is several tables,
so that no column adds up the same money twice.
"""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from rich.console import Console
from rich.table import Table

from connector.errors import InvalidInput
from connector.reports.model import Column, Report, Row, Section, Value
from connector.reports.units import excel_format, major, major_text, shown

MINOR_SUFFIX = "_minor"
WIDEST = 48


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    XLSX = "xlsx"


def _money(value: Value, column: Column, row: Row) -> tuple[int, str] | None:
    currency = row.get("currency")
    if column.money and isinstance(value, int) and isinstance(currency, str):
        return value, currency
    return None


def _display(value: Value, column: Column, row: Row) -> str:
    if value is None:
        return ""
    money = _money(value, column, row)
    return shown(*money) if money else str(value)


def _flat(value: Value, column: Column, row: Row) -> Value:
    """CSV and JSON: money as exact major-unit text, anything else as is."""
    money = _money(value, column, row)
    return major_text(*money) if money else value


def section_table(section: Section, caption: str | None = None) -> Table:
    out = Table(title=section.title, caption=caption)
    for column in section.columns:
        out.add_column(column.header, justify="right" if column.money else "left")
    for row in section.rows:
        out.add_row(*(_display(row.get(c.key), c, row) for c in section.columns))
    for i, row in enumerate(section.totals()):
        out.add_row(
            *(_display(row.get(c.key), c, row) for c in section.columns),
            style="bold",
            end_section=i == 0,
        )
    return out


def tables(report: Report) -> list[Table]:
    """One Rich table per section; the notes go under the last."""
    caption = "\n".join(report.notes) or None
    last = len(report.sections) - 1
    return [
        section_table(section, caption if i == last else None)
        for i, section in enumerate(report.sections)
    ]


def _flat_keys(section: Section) -> list[str]:
    keys: list[str] = []
    for column in section.columns:
        keys.append(column.key)
        if column.money:
            keys.append(column.key + MINOR_SUFFIX)
    return keys


def _flat_row(section: Section, row: Row) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for column in section.columns:
        value = row.get(column.key)
        out[column.key] = _flat(value, column, row)
        if column.money:
            out[column.key + MINOR_SUFFIX] = value
    return out


def section_csv(section: Section) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    keys = _flat_keys(section)
    writer.writerow(keys)
    for row in section.rows:
        flat = _flat_row(section, row)
        writer.writerow(["" if flat[k] is None else flat[k] for k in keys])
    return buffer.getvalue()


def to_csv(report: Report) -> str:
    """The report as CSV; sections follow one another, each after a ``# title`` line."""
    if len(report.sections) == 1:
        return section_csv(report.sections[0])
    return "\n".join(f"# {s.title}\n{section_csv(s)}" for s in report.sections)


def _section_json(section: Section) -> dict[str, Any]:
    return {
        "key": section.key,
        "title": section.title,
        "columns": [{"key": c.key, "header": c.header, "money": c.money} for c in section.columns],
        "rows": [_flat_row(section, row) for row in section.rows],
        "totals": [_flat_row(section, row) for row in section.totals()],
    }


def to_json(report: Report) -> str:
    document = {
        "report": report.name,
        "title": report.title,
        "amounts": (
            "money columns are decimal text in major units of the row's currency; "
            f"<column>{MINOR_SUFFIX} holds the same amount in integer minor units"
        ),
        "sections": [_section_json(s) for s in report.sections],
        "notes": list(report.notes),
    }
    return json.dumps(document, indent=2)


def _sheet_name(report: Report, section: Section) -> str:
    name = report.name if len(report.sections) == 1 else section.key
    return name.replace("/", "-")[:31]


def _append(sheet: Worksheet, section: Section, row: Row, bold: bool) -> None:
    values: list[Any] = []
    formats: list[str | None] = []
    for column in section.columns:
        value = row.get(column.key)
        money = _money(value, column, row)
        values.append(major(*money) if money else value)
        formats.append(excel_format(money[1]) if money else None)
    sheet.append(values)
    for cell, number_format in zip(sheet[sheet.max_row], formats, strict=True):
        if number_format:
            cell.number_format = number_format
        if bold:
            cell.font = Font(bold=True)


def _fit_columns(sheet: Worksheet, section: Section) -> None:
    rows = (*section.rows, *section.totals())
    for i, column in enumerate(section.columns, start=1):
        longest = max(
            [len(column.header)] + [len(_display(r.get(column.key), column, r)) for r in rows]
        )
        sheet.column_dimensions[get_column_letter(i)].width = min(WIDEST, longest + 2)


def to_xlsx(report: Report, path: Path) -> None:
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for section in report.sections:
        sheet = book.create_sheet(_sheet_name(report, section))
        sheet.append([c.header for c in section.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for row in section.rows:
            _append(sheet, section, row, bold=False)
        for row in section.totals():
            _append(sheet, section, row, bold=True)
        _fit_columns(sheet, section)
    notes = book.create_sheet("notes")
    notes.append([report.title])
    notes["A1"].font = Font(bold=True)
    for note in report.notes:
        notes.append([note])
    notes.column_dimensions["A"].width = 100
    book.save(path)


def write(report: Report, fmt: str, output: Path | None, console: Console) -> None:
    """Print or save ``report``; XLSX needs a file."""
    try:
        chosen = Format(fmt)
    except ValueError:
        raise InvalidInput(
            "format", f"unknown format {fmt!r}", f"one of {', '.join(f.value for f in Format)}"
        ) from None
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
    if chosen is Format.XLSX:
        if output is None:
            raise InvalidInput("output", "XLSX needs a file", "add --output report.xlsx")
        to_xlsx(report, output)
        return
    if chosen is Format.TABLE:
        if output is None:
            for part in tables(report):
                console.print(part)
            return
        with output.open("w") as handle:
            wide = Console(file=handle, width=200)
            for part in tables(report):
                wide.print(part)
        return
    text = to_csv(report) if chosen is Format.CSV else to_json(report) + "\n"
    if output is None:
        console.file.write(text)
    else:
        output.write_text(text)
