"""Reconciliation results as Rich tables (for eyes, major units), CSV and XLSX (minor units,
exact, for a spreadsheet or a script)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from rich.table import Table

from connector.errors import InvalidInput
from connector.money import Money
from connector.reconcile.model import Difference, describe
from connector.reconcile.plan import RepairAction
from connector.reconcile.run import Reconciliation
from connector.reconcile.tieout import TieOut

Cell = str | int

DIFFERENCE_COLUMNS = (
    "sink",
    "period",
    "difference",
    "entry_id",
    "sink_id",
    "currency",
    "expected",
    "found",
    "detail",
)
TIE_OUT_COLUMNS = ("check", "source", "currency", "subledger", "ledger", "difference", "result")
PLAN_COLUMNS = ("action", "sink", "entry_id", "period", "repairs", "lines", "note")


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    XLSX = "xlsx"


def parse_format(text: str) -> Format:
    try:
        return Format(text)
    except ValueError:
        raise InvalidInput(
            "format", f"unknown format {text!r}", f"one of {', '.join(f.value for f in Format)}"
        ) from None


def difference_row(d: Difference) -> tuple[Cell, ...]:
    expected = describe(d.expected.lines, d.expected.currency) if d.expected else ""
    found = describe(d.posting.lines, d.posting.currency) if d.posting else ""
    return (
        d.sink,
        d.period,
        d.kind.value,
        d.entry_id or "",
        d.sink_id or "",
        d.currency,
        expected,
        found,
        d.detail,
    )


def tie_out_row(row: TieOut) -> tuple[Cell, ...]:
    return (
        row.check,
        row.source,
        row.currency,
        row.subledger,
        row.ledger,
        row.difference,
        row.result,
    )


def plan_row(action: RepairAction) -> tuple[Cell, ...]:
    d = action.difference
    entry = action.entry
    target = " ".join(part for part in (d.entry_id or "", d.sink_id or "") if part)
    return (
        action.action.value,
        action.sink,
        entry.id if entry else "",
        entry.period if entry else d.period,
        f"{d.kind.value}: {target}",
        describe(entry.lines, entry.currency) if entry else "",
        action.note,
    )


def _money(amount: int, currency: str) -> str:
    return Money(amount, currency).format()


def differences_table(result: Reconciliation) -> Table:
    table = Table(title=f"reconciliation of {result.period}")
    for column in ("sink", "difference", "entry", "sink id", "expected", "found", "detail"):
        table.add_column(column)
    for d in result.differences:
        row = difference_row(d)
        table.add_row(*(str(row[i]) for i in (0, 2, 3, 4, 6, 7, 8)))
    return table


def tie_out_table(result: Reconciliation) -> Table:
    table = Table(title=f"tie-out at the end of {result.period}")
    table.add_column("check")
    table.add_column("source")
    for column in ("pools", "ledger", "difference"):
        table.add_column(column, justify="right")
    table.add_column("result")
    for row in result.tie_out:
        table.add_row(
            row.check,
            row.source,
            _money(row.subledger, row.currency),
            _money(row.ledger, row.currency),
            _money(row.difference, row.currency),
            f"[green]{row.result}[/green]" if row.ties else "[red]differs[/red]",
        )
    return table


def plan_table(actions: Sequence[RepairAction]) -> Table:
    table = Table(title="repair plan")
    for column in PLAN_COLUMNS:
        table.add_column(column.replace("_", " "))
    for action in actions:
        table.add_row(*(str(cell) for cell in plan_row(action)))
    return table


def _csv(columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def differences_csv(result: Reconciliation) -> str:
    return _csv(DIFFERENCE_COLUMNS, [difference_row(d) for d in result.differences])


def tie_out_csv(result: Reconciliation) -> str:
    return _csv(TIE_OUT_COLUMNS, [tie_out_row(row) for row in result.tie_out])


def tie_out_path(output: Path) -> Path:
    """Where the tie-out goes beside a CSV of differences: ``x.csv`` -> ``x-tieout.csv``."""
    return output.with_name(f"{output.stem}-tieout{output.suffix or '.csv'}")


def write_csv(result: Reconciliation, output: Path) -> list[Path]:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(differences_csv(result))
    second = tie_out_path(output)
    second.write_text(tie_out_csv(result))
    return [output, second]


def write_xlsx(
    result: Reconciliation, output: Path, actions: Sequence[RepairAction] = ()
) -> list[Path]:
    """One workbook: the differences, the tie-out and (when planned) the repair plan."""
    book = Workbook()
    sheets: list[tuple[str, Sequence[str], list[tuple[Cell, ...]]]] = [
        ("differences", DIFFERENCE_COLUMNS, [difference_row(d) for d in result.differences]),
        ("tie-out", TIE_OUT_COLUMNS, [tie_out_row(row) for row in result.tie_out]),
    ]
    if actions:
        sheets.append(("repair plan", PLAN_COLUMNS, [plan_row(a) for a in actions]))
    first = book.active
    for number, (title, columns, rows) in enumerate(sheets):
        sheet = first if number == 0 else book.create_sheet()
        sheet.title = title
        sheet.append(list(columns))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(list(row))
    output.parent.mkdir(parents=True, exist_ok=True)
    book.save(output)
    return [output]
