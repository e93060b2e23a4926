"""Journal entries as NetSuite's REST record API wants them, and SuiteQL rows back as postings.

Amounts travel in major units as JSON numbers, each converted from minor units with its
currency's exponent (JPY has none, so its amounts are whole numbers); a conversion that would
not survive the trip exactly is refused rather than rounded. Lines carry debit or credit
(positive), the account's id, a memo and department / class / location when the GL rule sets
them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from adapters.netsuite.chart import Book, Chart
from adapters.netsuite.external_id import decode
from connector.errors import CreditsyncError
from connector.journal import Dimensions, JournalEntry, JournalLine, PostedEntry
from connector.money import exponent

MEMO_LIMIT = 999


class UnreadablePosting(CreditsyncError):
    """A journal entry NetSuite holds cannot be read as a posting."""


def major(minor: int, currency: str) -> int | float:
    """``minor`` in major units as a JSON number that reads back to the same decimal."""
    places = exponent(currency)
    if places == 0:
        return minor
    exact = Decimal(minor).scaleb(-places)
    number = float(exact)
    if Decimal(repr(number)) != exact:  # beyond 15 significant digits: never in practice
        raise CreditsyncError(f"{exact} {currency} cannot be sent as an exact JSON number")
    return number


def minor_units(value: Any, currency: str, what: str, places: int | None = None) -> int:
    """A SuiteQL amount (text or number, major units) in minor units, exactly."""
    if value in (None, ""):
        return 0
    try:
        scaled = Decimal(str(value)).scaleb(exponent(currency) if places is None else places)
    except ArithmeticError:
        raise UnreadablePosting(f"{what}: {value!r} is not an amount") from None
    if scaled != scaled.to_integral_value():
        raise UnreadablePosting(f"{what}: {value} has more decimals than {currency} allows")
    return abs(int(scaled))


def _ref(value: str | None) -> dict[str, str] | None:
    return {"id": value} if value else None


def journal_body(
    entry: JournalEntry,
    external_id: str,
    book: Book,
    chart: Chart,
    currency_id: str,
    period_id: str | None,
) -> dict[str, Any]:
    """The body of ``PUT /record/v1/journalEntry/eid:<external id>``."""
    items: list[dict[str, Any]] = []
    for line in entry.lines:
        item: dict[str, Any] = {"account": {"id": chart.account_id(book, line.account)}}
        if line.debit:
            item["debit"] = major(line.debit, entry.currency)
        else:
            item["credit"] = major(line.credit, entry.currency)
        item["memo"] = (line.memo or entry.memo)[:MEMO_LIMIT]
        dims = entry.line_dimensions(line)
        for name, value in (
            ("department", dims.department),
            ("class", dims.class_),
            ("location", dims.location),
        ):
            if value:
                item[name] = {"id": value}
        items.append(item)
    body: dict[str, Any] = {
        "externalId": external_id,
        "tranDate": entry.entry_date.isoformat(),
        "currency": {"id": currency_id},
        "memo": entry.memo[:MEMO_LIMIT],
        "line": {"items": items},
    }
    if book.subsidiary:
        body["subsidiary"] = {"id": book.subsidiary}
    if period_id:
        body["postingPeriod"] = {"id": period_id}
    return body


def readback_query(period: str, prefix: str) -> str:
    """Every line of every journal entry creditsync made in ``period``, in order."""
    return (
        "SELECT t.id AS id, t.externalid AS externalid, "
        "TO_CHAR(t.trandate, 'YYYY-MM-DD') AS trandate, "
        "TO_CHAR(ap.startdate, 'YYYY-MM') AS period, c.symbol AS currency, "
        "tl.linesequencenumber AS line, tl.subsidiary AS subsidiary, "
        "tl.expenseaccount AS account, tl.debitforeignamount AS debit, "
        "tl.creditforeignamount AS credit, tl.memo AS memo, tl.department AS department, "
        "tl.class AS class, tl.location AS location "
        "FROM transaction t "
        "JOIN transactionline tl ON tl.transaction = t.id "
        "JOIN accountingperiod ap ON ap.id = t.postingperiod "
        "JOIN currency c ON c.id = t.currency "
        f"WHERE t.type = 'Journal' AND t.externalid LIKE '{prefix}%' "
        f"AND TO_CHAR(ap.startdate, 'YYYY-MM') = '{period}' "
        "ORDER BY t.id, tl.linesequencenumber"
    )


def _text(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    return None if value in (None, "") else str(value)


def postings(rows: Iterable[Mapping[str, Any]], chart: Chart) -> list[PostedEntry]:
    """SuiteQL rows (one per line) grouped into postings, with creditsync's codes."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(str(row.get("id")), []).append(row)
    try:
        return [_posting(internal_id, lines, chart) for internal_id, lines in grouped.items()]
    except (ValidationError, ValueError) as exc:
        raise UnreadablePosting(f"a NetSuite journal entry cannot be read back: {exc}") from None


def _posting(internal_id: str, lines: list[Mapping[str, Any]], chart: Chart) -> PostedEntry:
    first = lines[0]
    currency = str(first.get("currency") or "")
    subsidiary = _text(first, "subsidiary")
    book = chart.readback_book(currency, subsidiary)
    places = exponent(currency)
    posted_lines = []
    for row in lines:
        account = _text(row, "account") or ""
        what = f"NetSuite journal {internal_id} line {row.get('line')}"
        code = (book.codes.get(account) if book else None) or f"netsuite:{account}"
        dims = (
            Dimensions(
                department=_text(row, "department"),
                class_=_text(row, "class"),
                location=_text(row, "location"),
            )
            if any(row.get(key) for key in ("department", "class", "location"))
            else None
        )
        posted_lines.append(
            JournalLine(
                account=code,
                debit=minor_units(row.get("debit"), currency, what, places),
                credit=minor_units(row.get("credit"), currency, what, places),
                memo=_text(row, "memo") or "",
                dimensions=dims,
            )
        )
    return PostedEntry(
        sink_id=internal_id,
        entry_id=decode(str(first.get("externalid") or "")),
        period=str(first.get("period")),
        entry_date=date.fromisoformat(str(first.get("trandate"))),
        currency=currency,
        lines=tuple(posted_lines),
        entity=book.entity if book else None,
    )
