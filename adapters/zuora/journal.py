"""Journal entries into Zuora Finance as summary journal entries (``/v1/journal-entries``).

Choose this sink when Zuora Finance is the books of record for revenue (the tenant closes its
accounting periods in Zuora and transfers summary entries to its GL from there). When an ERP
(NetSuite, QuickBooks, Xero) or the files sink feeds the GL, do not add it: the same revenue would
be booked twice.

An entry becomes one summary journal entry: the accounting period by name, the currency, the
date, one item per line with the accounting code named by the line's GL code and the amount as a
string in major units (the currency's exponent: "12.34" USD, "1234" JPY, "1.234" KWD), and
creditsync's entry id in ``notes``, since a summary entry has no external id and its items carry
no notes. Zuora takes at most 100 items per entry: a larger one is posted in parts of at most 100
items, each balanced on its own, noted "part k/n".

Posting is idempotent within Zuora's 24-hour Idempotency-Key window; beyond it, reconciliation
reads back what the period holds and reports a second copy. ``posted(period)`` lists the
period's creditsync entries through a Data Query job (no REST listing of summary entries by
period exists), then reads each by number (``GET`` answers with ``number``; items carry no notes).
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from adapters.zuora.client import Json, ZuoraApi, ZuoraRequestFailed
from adapters.zuora.settings import ZuoraSettings, load_settings
from connector.errors import InvalidInput
from connector.journal import JournalEntry, JournalLine, PostedEntry
from connector.money import exponent, parse_major
from connector.platform.retry import Failure, RetryPolicy
from connector.ports import AdapterContext

MAX_ITEMS = 100
NOTES_PREFIX = "creditsync:"
NOTES = re.compile(
    r"^creditsync:(?P<id>\S+)(?: part (?P<part>\d+)/(?P<parts>\d+)(?: continues (?P<cont>\S+))?)?"
)
Side = Literal["Debit", "Credit"]


@dataclass(frozen=True)
class Item:
    account: str  # creditsync's GL code (or Zuora's accounting code name, once renamed)
    side: Side
    amount: int  # minor units, > 0
    line: int  # the entry line it comes from


@dataclass(frozen=True)
class Part:
    """Items of one summary entry; ``continues``: sides whose first item goes on with the last
    item of that side in the previous part (a line cut at the boundary)."""

    items: list[Item]
    continues: frozenset[Side] = frozenset()


def entry_items(entry: JournalEntry) -> list[Item]:
    """The one place a JournalEntry's lines become Zuora items (entity and dimensions, when
    entries carry them, map here: segments and organization labels)."""
    return [
        Item(line.account, "Debit", line.debit, n)
        if line.debit
        else Item(line.account, "Credit", line.credit, n)
        for n, line in enumerate(entry.lines)
    ]


def split_balanced(items: list[Item], limit: int = MAX_ITEMS) -> list[Part]:
    """Items in parts of at most ``limit``, each part balanced (debits = credits).

    Debits are matched to credits in order, cutting a line where the other side's line ends;
    the matched pieces fill a part until one more would pass the limit, and pieces of one line
    within a part are joined again. So a line is cut only where a part boundary falls inside
    it, and the part after says so (``continues``), for the read-back to join it again.
    """
    if len(items) <= limit:
        return [Part(items)]
    debits = deque(i for i in items if i.side == "Debit")
    credits = deque(i for i in items if i.side == "Credit")
    sides: list[dict[int, Item]] = []  # per part: line -> joined piece, debits then credits
    current: dict[int, Item] = {}
    while debits and credits:
        debit, credit = debits.popleft(), credits.popleft()
        amount = min(debit.amount, credit.amount)
        if debit.amount > amount:
            debits.appendleft(Item(debit.account, "Debit", debit.amount - amount, debit.line))
        if credit.amount > amount:
            credits.appendleft(Item(credit.account, "Credit", credit.amount - amount, credit.line))
        pieces = (
            Item(debit.account, "Debit", amount, debit.line),
            Item(credit.account, "Credit", amount, credit.line),
        )
        if len(current) + sum(p.line not in current for p in pieces) > limit:
            sides.append(current)
            current = {}
        for piece in pieces:
            found = current.get(piece.line)
            current[piece.line] = (
                piece
                if found is None
                else Item(piece.account, piece.side, found.amount + piece.amount, piece.line)
            )
    sides.append(current)
    parts: list[Part] = []
    previous: dict[int, Item] = {}
    for joined in sides:
        ordered = [i for i in joined.values() if i.side == "Debit"] + [
            i for i in joined.values() if i.side == "Credit"
        ]
        both: tuple[Side, Side] = ("Debit", "Credit")
        continues = frozenset(
            side
            for side in both
            if _last(previous, side) is not None and _last(previous, side) == _first(joined, side)
        )
        parts.append(Part(ordered, continues))
        previous = joined
    return parts


def _first(joined: dict[int, Item], side: str) -> int | None:
    return next((i.line for i in joined.values() if i.side == side), None)


def _last(joined: dict[int, Item], side: str) -> int | None:
    lines = [i.line for i in joined.values() if i.side == side]
    return lines[-1] if lines else None


def major(amount: int, currency: str) -> str:
    """Minor units as Zuora's amount string, with exactly the currency's decimals."""
    places = exponent(currency)
    return f"{Decimal(amount).scaleb(-places):.{places}f}"


def notes_for(entry: JournalEntry, number: int, parts: list[Part]) -> str:
    marker = f"{NOTES_PREFIX}{entry.id}"
    if len(parts) > 1:
        marker += f" part {number}/{len(parts)}"
        continues = parts[number - 1].continues
        if continues:
            marker += " continues " + ",".join(sorted(continues))
    text = f"{marker} {entry.kind.value}" + (f": {entry.memo}" if entry.memo else "")
    return text[:2000]


class ZuoraJournalSink:
    """JournalSink posting summary journal entries into Zuora Finance."""

    name = "zuora"

    def __init__(
        self,
        settings: ZuoraSettings,
        *,
        api: ZuoraApi | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        poll_seconds: float = 2.0,
        max_polls: int = 150,
    ) -> None:
        self._settings = settings
        self._api = api or ZuoraApi(settings, retry=retry)
        self._sleep = sleep
        self._poll_seconds = poll_seconds
        self._max_polls = max_polls

    def period_name(self, period: str) -> str:
        """Zuora's name of a creditsync period (YYYY-MM), per ``journal_period_format``."""
        year, month = (int(part) for part in period.split("-"))
        return date(year, month, 1).strftime(self._settings.journal_period_format)

    # -- JournalSink --------------------------------------------------------------------------

    def post(self, entry: JournalEntry) -> str:
        """Post ``entry`` (in parts when it has more than 100 lines); its JE number(s)."""
        items = [
            Item(self._settings.accounting_code(i.account), i.side, i.amount, i.line)
            for i in entry_items(entry)
        ]
        parts = split_balanced(items)
        numbers: list[str] = []
        for number, part in enumerate(parts, 1):
            body: dict[str, Any] = {
                "accountingPeriodName": self.period_name(entry.period),
                "currency": entry.currency,
                "journalEntryDate": entry.entry_date.isoformat(),
                "notes": notes_for(entry, number, parts),
                "journalEntryItems": [
                    {
                        "accountingCodeName": item.account,
                        "amount": major(item.amount, entry.currency),
                        "type": item.side,
                    }
                    for item in part.items
                ],
            }
            if self._settings.journal_transaction_type:
                body["transactionType"] = self._settings.journal_transaction_type
            suffix = f":{number}/{len(parts)}" if len(parts) > 1 else ""
            answer = self._api.post(
                "/v1/journal-entries", body, idempotency_key=f"{entry.id}{suffix}"
            )
            created = answer.get("journalEntryNumber")
            if not created:
                raise InvalidInput("journalEntryNumber", "Zuora answered without the entry number")
            numbers.append(str(created))
        return ",".join(numbers)

    def posted(self, period: str) -> list[PostedEntry]:
        """creditsync's entries the period holds in Zuora (cancelled ones left out)."""
        found: dict[str, list[Json]] = {}
        for number in self._numbers(self.period_name(period)):
            detail = self._api.get(f"/v1/journal-entries/{number}")
            if detail.get("status") == "Cancelled":
                continue
            match = NOTES.match(str(detail.get("notes") or ""))
            entry_id = match.group("id") if match else f"zuora:{number}"
            found.setdefault(entry_id, []).append(detail)
        return [self._posting(entry_id, details, period) for entry_id, details in found.items()]

    # -- reading back -------------------------------------------------------------------------

    def _posting(self, entry_id: str, details: list[Json], period: str) -> PostedEntry:
        """One creditsync entry from its summary entries; the parts of a split one, in order,
        with each line cut at a part boundary joined again."""
        details = sorted(details, key=_part_number)
        first = details[0]
        currency = str(first.get("currency"))
        lines: list[JournalLine] = []
        for detail in details:
            match = NOTES.match(str(detail.get("notes") or ""))
            continues = set((match.group("cont") or "").split(",")) if match else set()
            for item in detail.get("journalEntryItems") or ():
                side = str(item.get("type"))
                line = _line(
                    self._settings.gl_code(str(item.get("accountingCodeName"))),
                    side,
                    parse_major(str(item.get("amount")), currency, "amount"),
                )
                if side in continues:
                    continues.discard(side)
                    at = max(
                        n for n, known in enumerate(lines) if bool(known.debit) == (side == "Debit")
                    )
                    known = lines[at]
                    line = JournalLine(
                        account=known.account,
                        debit=known.debit + line.debit,
                        credit=known.credit + line.credit,
                    )
                    lines[at] = line
                    continue
                lines.append(line)
        return PostedEntry(
            sink_id=",".join(str(d.get("number")) for d in details),
            entry_id=None if entry_id.startswith("zuora:") else entry_id,
            period=period,
            entry_date=date.fromisoformat(str(first.get("journalEntryDate"))),
            currency=currency,
            lines=tuple(lines),
        )

    def _numbers(self, period_name: str) -> list[str]:
        """Numbers of the period's creditsync entries, from a Data Query job."""
        quoted = period_name.replace("'", "''")
        query = (
            "SELECT je.number AS number FROM journalentry je "
            "JOIN accountingperiod ap ON je.accountingperiodid = ap.id "
            f"WHERE ap.name = '{quoted}' AND je.notes LIKE '{NOTES_PREFIX}%' "
            "ORDER BY je.number"
        )
        submitted = self._api.post(
            "/query/jobs",
            {
                "query": query,
                "outputFormat": "JSON",
                "compression": "NONE",
                "output": {"target": "S3"},
            },
            idempotency_key=f"creditsync-readback:{period_name}:{time.time_ns()}",
        )
        job = submitted.get("data") or {}
        for _ in range(self._max_polls):
            status = str(job.get("queryStatus") or "")
            if status == "completed":
                return _numbers_in(self._api.get_url(str(job.get("dataFile"))))
            if status in ("failed", "cancelled"):
                raise ZuoraRequestFailed(
                    platform="Zuora",
                    method="GET",
                    path="/query/jobs",
                    failure=Failure(retryable=False, message=f"Data Query job {status}: {query}"),
                    attempts=1,
                )
            self._sleep(self._poll_seconds)
            job = self._api.get(f"/query/jobs/{job.get('id')}").get("data") or {}
        raise ZuoraRequestFailed(
            platform="Zuora",
            method="GET",
            path="/query/jobs",
            failure=Failure(retryable=True, message="the Data Query job did not finish in time"),
            attempts=self._max_polls,
        )


def _part_number(detail: Json) -> int:
    match = NOTES.match(str(detail.get("notes") or ""))
    return int(match.group("part")) if match and match.group("part") else 1


def _line(account: str, side: str, amount: int) -> JournalLine:
    return JournalLine(
        account=account,
        debit=amount if side == "Debit" else 0,
        credit=amount if side != "Debit" else 0,
    )


def _numbers_in(data: bytes) -> list[str]:
    """The ``number`` of each row of a Data Query JSON result (one object per line)."""
    numbers: list[str] = []
    for raw in data.splitlines():
        if raw.strip():
            row = json.loads(raw)
            if isinstance(row, Mapping) and row.get("number"):
                numbers.append(str(row["number"]))
    return numbers


def make_sink(
    settings: Mapping[str, Any], context: AdapterContext | None = None
) -> ZuoraJournalSink:
    """The sink of a connection's settings; Zuora stamps its own entries, so the core's context
    (output folder, clock) is not needed."""
    return ZuoraJournalSink(load_settings(settings))
