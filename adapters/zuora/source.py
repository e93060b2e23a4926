"""The Zuora PurchaseSource: incremental sync through the Object Query API.

Three listings ("streams"), each read by ``updateddate`` inside one window per run: invoices
(paid ones become purchases, cancelled or reversed ones voids), credit memos and refunds. A
record changed at the window's edge is read twice rather than never (the overlap), and every
event carries a stable source key, so reading it twice changes nothing. Each page of 50 (Object
Query's maximum) is yielded with the cursor after it, holding Zuora's own ``nextPage`` token,
so a run that dies resumes at the next page.

A credit memo can be posted before its invoice is paid (it then only lowers what is due): the
memo's own window passes with no event, so when a paid invoice shows credit memos
(``creditMemoAmount`` above zero) the memos that refer to it are read with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adapters.zuora.client import Json, ZuoraApi
from adapters.zuora.parse import (
    PLATFORM,
    Obj,
    RefundTarget,
    credit_memo_events,
    invoice_events,
    is_paid,
    minor,
    payment_refund_applications,
    refund_events,
    refunded_before,
)
from adapters.zuora.settings import ZuoraSettings, load_settings
from connector.errors import InvalidInput
from connector.events import CanonicalEvent
from connector.platform.cursor import SyncCursor, load_cursor
from connector.platform.retry import RetryPolicy
from connector.ports import Page
from connector.timeutil import utcnow

log = logging.getLogger(__name__)

STREAMS: tuple[str, ...] = ("invoices", "credit_memos", "refunds")
INVOICE_EXPAND = (
    "account",
    "billtocontact",
    "invoiceitems",
    "paymentapplications",
    "creditmemoapplications",
)
MEMO_EXPAND = ("creditmemoitems",)
REFUND_EXPAND = ("refundapplications",)

# stream -> (Object Query object, expansions)
LISTINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "invoices": ("invoices", INVOICE_EXPAND),
    "credit_memos": ("credit-memos", MEMO_EXPAND),
    "refunds": ("refunds", REFUND_EXPAND),
}

# fetch hint prefix -> what to read (callouts name the object's type and id)
HINT_KINDS = ("invoice", "creditmemo", "refund", "payment")


def zuora_time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cursor_of(raw: Mapping[str, Any] | None) -> SyncCursor:
    return load_cursor(raw, STREAMS, "Zuora")


class ZuoraSource:
    platform = PLATFORM

    def __init__(
        self,
        settings: ZuoraSettings,
        *,
        api: ZuoraApi | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        settings.require("backfill_from", "the Zuora source (the first sync starts there)")
        self._settings = settings
        self._api = api or ZuoraApi(settings, retry=retry)
        self._clock = clock
        self._invoices: dict[str, Json | None] = {}

    # -- PurchaseSource -----------------------------------------------------------------------

    def pages(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        assert self._settings.backfill_from is not None
        state = cursor_of(cursor).begin(
            self._clock(), self._settings.overlap_seconds, self._settings.backfill_from
        )
        self._invoices = {}  # read fresh each run: a paid state can change between runs
        while state.run is not None:
            run = state.run
            stream = run.stream
            start, until = run.window(stream)
            object_name, expand = LISTINGS[stream]
            rows, next_page = self._api.query(
                object_name,
                filters=[
                    f"updateddate.GT:{zuora_time(start)}",
                    f"updateddate.LT:{zuora_time(until)}",
                ],
                expand=expand,
                cursor=run.page_after,
            )
            events: list[CanonicalEvent] = []
            for row in rows:
                events.extend(self._events(stream, row))
            state = state.after_page(stream, next_page, next_page is not None and bool(rows))
            yield Page(events=events, cursor=state.dump(), fetched=len(rows))

    def fetch_objects(self, object_ids: list[str]) -> list[CanonicalEvent]:
        parsed: list[tuple[str, str]] = []
        for hint in object_ids:
            kind, _, object_id = hint.partition(":")
            if kind not in HINT_KINDS or not object_id:
                raise InvalidInput(
                    "object_ids",
                    f"{hint!r} is not a Zuora object the source reads",
                    f"give <kind>:<id> with kind one of {', '.join(HINT_KINDS)}",
                )
            parsed.append((kind, object_id))
        self._invoices = {}
        events: list[CanonicalEvent] = []
        for kind, object_id in parsed:
            events.extend(self._fetch(kind, object_id))
        return events

    # -- reading ------------------------------------------------------------------------------

    def _fetch(self, kind: str, object_id: str) -> list[CanonicalEvent]:
        if kind == "invoice":
            invoice = self._invoice(object_id)
            return self._invoice_events(invoice) if invoice else []
        if kind == "creditmemo":
            memo = self._api.record("credit-memos", object_id, MEMO_EXPAND)
            return self._memo_events(memo) if memo else []
        if kind == "refund":
            refund = self._api.record("refunds", object_id, REFUND_EXPAND)
            return self._refund_events(refund) if refund else []
        payment = self._api.record("payments", object_id, ("paymentapplications",))
        events: list[CanonicalEvent] = []
        for application in (payment or {}).get("paymentApplications") or ():
            invoice = self._invoice(str(application.get("invoiceId") or ""))
            if invoice:
                events.extend(self._invoice_events(invoice))
        return events

    def _events(self, stream: str, row: Json) -> list[CanonicalEvent]:
        if stream == "invoices":
            self._invoices[str(row["id"])] = row
            return self._invoice_events(row)
        if stream == "credit_memos":
            return self._memo_events(row)
        return self._refund_events(row)

    def _invoice(self, invoice_id: str) -> Json | None:
        if not invoice_id:
            return None
        if invoice_id not in self._invoices:
            self._invoices[invoice_id] = self._api.record("invoices", invoice_id, INVOICE_EXPAND)
        return self._invoices[invoice_id]

    def _invoice_events(self, invoice: Json) -> list[CanonicalEvent]:
        events = invoice_events(invoice)
        credited = Decimal(str(invoice.get("creditMemoAmount") or 0))
        if is_paid(invoice) and credited > 0:
            memos = self._api.query_all(
                "credit-memos", filters=[f"invoiceid.EQ:{invoice['id']}"], expand=MEMO_EXPAND
            )
            for memo in memos:
                events.extend(credit_memo_events(memo, invoice))
        return events

    def _memo_events(self, memo: Obj) -> list[CanonicalEvent]:
        invoice_id = memo.get("invoiceId")
        if memo.get("status") != "Posted" or not invoice_id:
            return []
        return list(credit_memo_events(memo, self._invoice(str(invoice_id))))

    def _refund_events(self, refund: Obj) -> list[CanonicalEvent]:
        events: list[CanonicalEvent] = []
        for application in payment_refund_applications(refund):
            events.extend(refund_events(refund, application, self._targets(application)))
        return events

    def _targets(self, application: Obj) -> list[RefundTarget]:
        """The invoices the refunded payment paid, with the part of it each received."""
        invoice_id = application.get("invoiceId")
        if invoice_id:
            invoice = self._invoice(str(invoice_id))
            if invoice is None:
                return []
            currency = str(invoice["currency"])
            applied = minor(application.get("applyAmount"), currency, "applyAmount")
            before = 0
            if invoice.get("amount") != invoice.get("amountWithoutTax"):  # a share is rounded
                siblings = self._api.query_all(
                    "refund-applications",
                    filters=[f"invoiceid.EQ:{invoice_id}"],
                    expand=("refund",),
                )
                before = refunded_before(application, siblings, currency)
            return [RefundTarget(invoice, applied, before)]
        payment = self._api.record(
            "payments", str(application["paymentId"]), ("paymentapplications",)
        )
        targets: list[RefundTarget] = []
        for paid in (payment or {}).get("paymentApplications") or ():
            invoice = self._invoice(str(paid.get("invoiceId") or ""))
            if invoice is not None:
                currency = str(invoice["currency"])
                targets.append(
                    RefundTarget(invoice, minor(paid.get("applyAmount"), currency, "applyAmount"))
                )
        return targets


def make_source(settings: Mapping[str, Any]) -> ZuoraSource:
    return ZuoraSource(load_settings(settings))
