"""NetSuite as a journal sink: each entry upserted by external id, read back through SuiteQL.

``PUT /record/v1/journalEntry/eid:<external id>`` creates the entry or updates the one that
already carries the id, so a retry after a lost answer never makes a second entry; ``replace=line``
makes an update replace the lines instead of adding to them. NetSuite answers 204 with the
record's address in ``Location``, whose last segment (the internal id) is the sink id.

A 4xx whose message names the period (closed, or locked for the integration's role) raises
EntryBlocked with NetSuite's words: the entry waits in the outbox until finance re-dates it.

Account ids by number, currency ids and accounting period ids are read once through SuiteQL and
kept for the life of the sink.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any, Final

from adapters.netsuite.chart import Chart
from adapters.netsuite.client import NetSuiteClient, NetSuiteRequestFailed
from adapters.netsuite.external_id import PREFIX, encode
from adapters.netsuite.payload import journal_body, postings, readback_query
from adapters.netsuite.settings import NetSuiteSettings, load_settings
from connector.errors import CreditsyncError, InvalidInput
from connector.journal import JournalEntry, PostedEntry
from connector.ports import AdapterContext, EntryBlocked

RECORD: Final = "/services/rest/record/v1/journalEntry"
PERIOD_WORDS: Final = re.compile(r"\bperiods?\b", re.IGNORECASE)


def is_period_refusal(failure: NetSuiteRequestFailed) -> bool:
    """A 4xx (not 429) whose message names the period: a new posting date is needed."""
    status = failure.status
    return (
        status is not None
        and 400 <= status < 500
        and status != 429
        and bool(PERIOD_WORDS.search(failure.platform_message))
    )


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class NetSuiteSink:
    """JournalSink posting to one NetSuite account."""

    def __init__(self, settings: NetSuiteSettings, client: NetSuiteClient | None = None) -> None:
        self.settings = settings
        self.name = settings.name
        self.concurrency = settings.concurrency
        self.client = client or NetSuiteClient(settings)
        self._lock = threading.Lock()
        self._chart: Chart | None = None
        self._currencies: dict[str, str] | None = None
        self._periods: dict[str, str] | None = None

    @classmethod
    def from_settings(
        cls, raw: Mapping[str, Any], context: AdapterContext | None = None
    ) -> NetSuiteSink:
        """The sink of a connection's settings; NetSuite stamps its own records, so the core's
        context (output folder, clock) is not needed."""
        return cls(load_settings(raw))

    # -- what is read once -------------------------------------------------------------------

    @property
    def chart(self) -> Chart:
        with self._lock:
            if self._chart is None:
                self._chart = Chart(self.settings.gl_books, self._account_ids)
            return self._chart

    def _account_ids(self, numbers: list[str]) -> dict[str, str]:
        wanted = ", ".join(_quoted(n) for n in numbers)
        rows = self.client.suiteql(
            f"SELECT id, acctnumber FROM account WHERE acctnumber IN ({wanted})"
        )
        return {str(row["acctnumber"]): str(row["id"]) for row in rows}

    def currency_id(self, code: str) -> str:
        with self._lock:
            if self._currencies is None:
                rows = self.client.suiteql("SELECT id, symbol FROM currency")
                self._currencies = {str(row["symbol"]).upper(): str(row["id"]) for row in rows}
            found = self._currencies.get(code)
        if found is None:
            raise InvalidInput(
                "currency",
                f"NetSuite has no currency {code}",
                "enable Multiple Currencies and add it under Lists > Accounting > Currencies",
            )
        return found

    def period_id(self, period: str) -> str:
        """The accounting period (a month, not a quarter, year or adjustment) starting there."""
        with self._lock:
            if self._periods is None:
                rows = self.client.suiteql(
                    "SELECT id, TO_CHAR(startdate, 'YYYY-MM') AS period FROM accountingperiod "
                    "WHERE isyear = 'F' AND isquarter = 'F' AND isadjust = 'F'"
                )
                self._periods = {str(row["period"]): str(row["id"]) for row in rows}
            found = self._periods.get(period)
        if found is None:
            raise EntryBlocked(
                f"NetSuite has no accounting period for {period}; set it up in Setup > "
                "Accounting > Manage Accounting Periods, or re-date the entry",
                period,
            )
        return found

    # -- the port ----------------------------------------------------------------------------

    def post(self, entry: JournalEntry) -> str:
        external_id = encode(entry.id)
        book = self.chart.book(entry.currency, entity=entry.entity)
        body = journal_body(
            entry,
            external_id,
            book,
            self.chart,
            self.currency_id(entry.currency),
            self.period_id(entry.period) if self.settings.posting_period else None,
        )
        try:
            response = self.client.request(
                "PUT", f"{RECORD}/eid:{external_id}", json=body, params={"replace": "line"}
            )
        except NetSuiteRequestFailed as failure:
            if is_period_refusal(failure):
                raise EntryBlocked(
                    f"NetSuite refused {entry.period}: {failure.platform_message}", entry.period
                ) from failure
            raise
        location = str(response.headers.get("Location", ""))
        internal_id = location.rstrip("/").rsplit("/", 1)[-1]
        if not internal_id.isdigit():
            internal_id = self._internal_id(external_id)
        return internal_id

    def _internal_id(self, external_id: str) -> str:
        """An update may answer without Location: ask for the record by its external id."""
        rows = list(
            self.client.suiteql(
                f"SELECT id FROM transaction WHERE externalid = {_quoted(external_id)}"
            )
        )
        if not rows:
            raise CreditsyncError(
                f"NetSuite accepted journal entry {external_id} but does not show it"
            )
        return str(rows[0]["id"])

    def posted(self, period: str) -> list[PostedEntry]:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
            raise InvalidInput("period", f"{period!r} is not a period", "use YYYY-MM, e.g. 2026-10")
        return postings(self.client.suiteql(readback_query(period, PREFIX)), self.chart)
