"""Writing a report as a Rich table, CSV, JSON or XLSX.

Money stays in integer minor units in CSV, JSON and XLSX (exact, and what a spreadsheet or a
script can add up without rounding); the table, meant for eyes, shows major units.
"""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from rich.console import Console
from rich.table import Table

from connector.errors import InvalidInput
from connector.money import Money
from connector.reports.model import Report, Value


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    XLSX = "xlsx"


def _display(value: Value, money: bool, currency: object) -> str:
    if value is None:
        return ""
    if money and isinstance(value, int) and isinstance(currency, str):
        return Money(value, currency).format()
    return str(value)


def table(report: Report) -> Table:
    out = Table(title=report.title, caption="\n".join(report.notes) or None)
    for column in report.columns:
        out.add_column(column.header, justify="right" if column.money else "left")
    for row in report.rows:
        out.add_row(
            *(_display(row.get(c.key), c.money, row.get("currency")) for c in report.columns)
        )
    return out


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.key for c in report.columns])
    for row in report.rows:
        writer.writerow(["" if row.get(c.key) is None else row.get(c.key) for c in report.columns])
    return buffer.getvalue()


def to_json(report: Report) -> str:
    document = {
        "report": report.name,
        "title": report.title,
        "amounts": "integer minor units of each row's currency",
        "columns": [{"key": c.key, "header": c.header, "money": c.money} for c in report.columns],
        "rows": [{c.key: row.get(c.key) for c in report.columns} for row in report.rows],
        "notes": list(report.notes),
    }
    return json.dumps(document, indent=2)


def to_xlsx(report: Report, path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = report.name[:31]
    sheet.append([c.header for c in report.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in report.rows:
        sheet.append([row.get(c.key) for c in report.columns])
    if report.notes:
        notes = book.create_sheet("notes")
        for note in report.notes:
            notes.append([note])
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
            console.print(table(report))
            return
        with output.open("w") as handle:
            Console(file=handle, width=200).print(table(report))
        return
    text = to_csv(report) if chosen is Format.CSV else to_json(report) + "\n"
    if output is None:
        console.file.write(text)
    else:
        output.write_text(text)
