"""Writes to Zuora: overage usage records, refill invoices and their payment, and Zuora Finance
summary journal entries, each idempotent past Zuora's 24-hour key window; every request and
answer of these conversations is checked against the zuora-sdk models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from adapters.zuora.charger import ZuoraCharger, invoice_number
from adapters.zuora.client import ZuoraApi, ZuoraRequestFailed
from adapters.zuora.journal import Item, ZuoraJournalSink, major, split_balanced
from adapters.zuora.settings import ZuoraSettings
from adapters.zuora.usage import ZuoraUsageSink
from connector.errors import InvalidInput
from connector.journal import EntryKind, JournalEntry, JournalLine
from connector.ports import Charger, JournalSink, OverageUsage, RefillRequest, UsageSink
from tests.zuora.test_zuora_payload_shapes import conversation_problems
from tests.zuora.zuora_fake import ZuoraFake
from tests.zuora.zuora_payloads import ACCOUNT, CHARGE, charge_tier

AT = datetime(2026, 1, 5, 10, 30, tzinfo=UTC)


def overage(key: str = "overage:burn-17", credits: int = 250) -> OverageUsage:
    return OverageUsage(
        key=key, account_id=ACCOUNT, external_customer_id=ACCOUNT, credits=credits, occurred_at=AT
    )


# -- usage --------------------------------------------------------------------------------------


def test_overage_becomes_one_usage_record(
    api: ZuoraApi, fake: ZuoraFake, settings: ZuoraSettings
) -> None:
    sink = ZuoraUsageSink(settings, api=api)
    assert isinstance(sink, UsageSink)

    usage_id = sink.report(overage())

    (post,) = fake.calls("POST", "/v1/object/usage")
    assert post.headers["Idempotency-Key"] == "overage:burn-17:usage"
    record = fake.records["usages"][usage_id]
    assert (record["quantity"], record["uOM"], record["description"]) == (
        250,
        "credits",
        "creditsync:overage:burn-17",
    )
    assert conversation_problems(fake.exchanges) == []


def test_a_report_retried_after_the_key_expired_finds_the_record(
    api: ZuoraApi, fake: ZuoraFake, settings: ZuoraSettings
) -> None:
    sink = ZuoraUsageSink(settings, api=api)
    first = sink.report(overage())
    fake.idempotent.clear()  # 24 hours later Zuora no longer knows the key

    assert sink.report(overage()) == first
    assert len(fake.calls("POST", "/v1/object/usage")) == 1
    assert len(fake.records["usages"]) == 1


def test_bad_overage_is_refused_before_any_request(
    api: ZuoraApi, fake: ZuoraFake, settings: ZuoraSettings
) -> None:
    sink = ZuoraUsageSink(settings, api=api)
    with pytest.raises(InvalidInput, match="credits"):
        sink.report(overage(credits=0))
    with pytest.raises(InvalidInput, match="usage_uom"):
        ZuoraUsageSink(settings.model_copy(update={"usage_uom": None}), api=api)
    assert fake.requests == []


# -- refills ------------------------------------------------------------------------------------


def refill(key: str = "refill:acct:7") -> RefillRequest:
    return RefillRequest(
        key=key, account_id=ACCOUNT, external_customer_id=ACCOUNT, item_id=CHARGE, quantity=2
    )


def test_a_refill_is_invoiced_and_paid_at_once(
    api: ZuoraApi, fake: ZuoraFake, settings: ZuoraSettings
) -> None:
    fake.add("product-rate-plan-charge-tiers", charge_tier(CHARGE, price=4999.5))
    charger = ZuoraCharger(settings, api=api, today=lambda: date(2026, 1, 5))
    assert isinstance(charger, Charger)

    invoice_id = charger.charge(refill())

    created = fake.records["invoices"][invoice_id]
    assert created["invoiceNumber"] == invoice_number("refill:acct:7")
    assert Decimal(str(created["amount"])) == Decimal("9999.00") and created["balance"] == 0
    (post_invoice,) = fake.calls("POST", "/v1/invoices")
    (post_payment,) = fake.calls("POST", "/v1/payments")
    assert post_invoice.headers["Idempotency-Key"] == "refill:acct:7:invoice"
    assert post_payment.headers["Idempotency-Key"] == "refill:acct:7:payment"
    assert conversation_problems(fake.exchanges) == []


def test_a_refill_retried_late_pays_the_same_invoice_once(
    api: ZuoraApi, fake: ZuoraFake, settings: ZuoraSettings
) -> None:
    fake.add("product-rate-plan-charge-tiers", charge_tier(CHARGE))
    charger = ZuoraCharger(settings, api=api, today=lambda: date(2026, 1, 5))
    fake.fail(
        "/v1/payments",
        402,
        method="POST",
        body={"success": False, "reasons": [{"code": "58730020", "message": "card declined"}]},
    )
    with pytest.raises(ZuoraRequestFailed, match="card declined"):
        charger.charge(refill())
    fake.idempotent.clear()

    first = charger.charge(refill())
    again = charger.charge(refill())

    assert first == again and len(fake.records["invoices"]) == 1
    assert len(fake.calls("POST", "/v1/invoices")) == 1
    assert fake.records["invoices"][first]["balance"] == 0


def test_a_refill_without_a_price_in_the_currency_is_refused(
    api: ZuoraApi, fake: ZuoraFake, settings: ZuoraSettings
) -> None:
    fake.add("product-rate-plan-charge-tiers", charge_tier(CHARGE, currency="EUR"))

    with pytest.raises(InvalidInput, match="no price in USD"):
        ZuoraCharger(settings, api=api).charge(refill())
    assert fake.calls("POST", "/v1/invoices") == []


# -- journal entries ----------------------------------------------------------------------------


def entry(
    entry_id: str = "je-abc-1", currency: str = "USD", lines: tuple[JournalLine, ...] | None = None
) -> JournalEntry:
    return JournalEntry(
        id=entry_id,
        kind=EntryKind.RECOGNITION,
        period="2026-01",
        entry_date=date(2026, 1, 31),
        currency=currency,
        lines=lines
        or (JournalLine(account="2350", debit=123456), JournalLine(account="4010", credit=123456)),
        memo="January consumption",
    )


@pytest.fixture
def sink(api: ZuoraApi, fake: ZuoraFake, settings: ZuoraSettings) -> ZuoraJournalSink:
    fake.accounting_codes |= {"2350", "4010", "4015", "4090", "1205", "Deferred Revenue"}
    fake.open_periods |= {"2026-01"}
    return ZuoraJournalSink(settings, api=api, sleep=lambda _: None)


def test_an_entry_becomes_a_summary_journal_entry(sink: ZuoraJournalSink, fake: ZuoraFake) -> None:
    assert isinstance(sink, JournalSink)

    number = sink.post(entry())

    assert number == "JE-00000001"
    stored = fake.journal_entries[number]
    assert stored["notes"].startswith("creditsync:je-abc-1 recognition")
    assert [
        (i["accountingCodeName"], i["amount"], i["type"]) for i in stored["journalEntryItems"]
    ] == [
        ("2350", "1234.56", "Debit"),
        ("4010", "1234.56", "Credit"),
    ]
    (post,) = fake.calls("POST", "/v1/journal-entries")
    assert post.headers["Idempotency-Key"] == "je-abc-1"
    assert sink.post(entry()) == number  # a retry within the key's window is a replay
    assert len(fake.journal_entries) == 1


@pytest.mark.parametrize(
    ("currency", "minor", "text"),
    [("JPY", 1234, "1234"), ("KWD", 1234, "1.234"), ("USD", 5, "0.05")],
)
def test_amounts_are_strings_in_the_currencys_exponent(
    currency: str, minor: int, text: str
) -> None:
    assert major(minor, currency) == text


def test_accounting_code_names_come_from_the_settings_when_they_differ(
    api: ZuoraApi, fake: ZuoraFake, sink: ZuoraJournalSink, settings: ZuoraSettings
) -> None:
    renamed = ZuoraJournalSink(
        settings.model_copy(update={"journal_accounting_codes": {"2350": "Deferred Revenue"}}),
        api=api,
        sleep=lambda _: None,
    )

    number = renamed.post(entry())

    assert (
        fake.journal_entries[number]["journalEntryItems"][0]["accountingCodeName"]
        == "Deferred Revenue"
    )
    (posted,) = renamed.posted("2026-01")
    assert {line.account for line in posted.lines} == {"2350", "4010"}  # read back as GL codes


def test_a_large_entry_is_posted_in_balanced_parts_of_at_most_100(
    sink: ZuoraJournalSink, fake: ZuoraFake
) -> None:
    lines = tuple(JournalLine(account="4010", credit=100 + n) for n in range(150))
    big = entry(
        "je-big-1",
        lines=(JournalLine(account="2350", debit=sum(line.credit for line in lines)), *lines),
    )
    fake.accounting_codes |= {"4010"}

    numbers = sink.post(big).split(",")

    assert len(numbers) == 2  # 99 credit lines and the debit they share, then the rest
    for number in numbers:
        items = fake.journal_entries[number]["journalEntryItems"]
        assert len(items) <= 100
        debit = sum(Decimal(i["amount"]) for i in items if i["type"] == "Debit")
        assert debit == sum(Decimal(i["amount"]) for i in items if i["type"] == "Credit")
    (posted,) = sink.posted("2026-01")
    assert posted.entry_id == "je-big-1" and posted.sink_id == ",".join(numbers)
    key = sorted((line.account, line.debit, line.credit) for line in posted.lines)
    assert key == sorted((line.account, line.debit, line.credit) for line in big.lines)


def test_split_parts_balance_whatever_the_lines() -> None:
    items = [Item("D", "Debit", 7, n) for n in range(90)] + [
        Item(f"C{n}", "Credit", 9, 90 + n) for n in range(70)
    ]

    parts = split_balanced(items, limit=10)

    assert all(len(part.items) <= 10 for part in parts)
    for part in parts:
        assert sum(i.amount for i in part.items if i.side == "Debit") == sum(
            i.amount for i in part.items if i.side == "Credit"
        )
    assert sum(i.amount for part in parts for i in part.items if i.side == "Debit") == 630
    assert any(part.continues for part in parts)


def test_posted_reads_back_creditsyncs_entries_of_the_period(
    sink: ZuoraJournalSink, fake: ZuoraFake
) -> None:
    sink.post(entry("je-a-1"))
    sink.post(
        entry(
            "je-b-1",
            lines=(JournalLine(account="1205", debit=500), JournalLine(account="2350", credit=500)),
        )
    )
    fake.open_periods.add("2026-02")
    sink.post(entry("je-c-1").model_copy(update={"period": "2026-02"}))

    found = sink.posted("2026-01")

    assert [(p.entry_id, p.sink_id, p.currency, p.entry_date) for p in found] == [
        ("je-a-1", "JE-00000001", "USD", date(2026, 1, 31)),
        ("je-b-1", "JE-00000002", "USD", date(2026, 1, 31)),
    ]
    assert [(line.account, line.debit, line.credit) for line in found[1].lines] == [
        ("1205", 500, 0),
        ("2350", 0, 500),
    ]
    assert conversation_problems(fake.exchanges) == []


def test_a_closed_period_is_refused_with_zuoras_message(sink: ZuoraJournalSink) -> None:
    closed = entry().model_copy(update={"period": "2025-12", "entry_date": date(2025, 12, 31)})

    with pytest.raises(ZuoraRequestFailed, match="accounting period 2025-12 is not open"):
        sink.post(closed)


def test_period_names_follow_the_tenants_format(api: ZuoraApi, settings: ZuoraSettings) -> None:
    named = ZuoraJournalSink(
        settings.model_copy(update={"journal_period_format": "%b %Y"}), api=api
    )

    assert named.period_name("2026-01") == "Jan 2026"
