"""The NetSuite sink against the stand-in: what a PUT carries, what each answer means, and the
SuiteQL read-back turned into postings with creditsync's codes."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.netsuite.client import NetSuiteRequestFailed, NetSuiteUnreadable
from adapters.netsuite.external_id import PREFIX, decode, encode
from adapters.netsuite.payload import UnreadablePosting
from adapters.netsuite.settings import NetSuiteSettings
from adapters.netsuite.sink import NetSuiteSink
from connector.errors import InvalidInput
from connector.journal import Dimensions, EntryKind, JournalEntry, JournalLine
from connector.ports import EntryBlocked, JournalSink
from connector.runtime import Runtime
from connector.settings import EXAMPLE_MAPPINGS, Connection, Settings
from tests.netsuite.netsuite_fake import (
    RECORD_PATH,
    SUITEQL_PATH,
    FakeNetSuite,
    Journal,
    Line,
    error_body,
    raw_settings,
)


def entry(
    entry_id: str = "je-0123456789abcdef01234567-1",
    currency: str = "USD",
    amount: int = 123_456,
    entity: str | None = None,
    period: str = "2026-10",
) -> JournalEntry:
    deferred, revenue = {
        ("USD", None): ("2350", "4010"),
        ("EUR", "acme-gmbh"): ("DE-1750", "DE-8400"),
        ("JPY", None): ("2353", "4013"),
    }[(currency, entity)]
    return JournalEntry(
        id=entry_id,
        kind=EntryKind.RECOGNITION,
        period=period,
        entry_date=date(int(period[:4]), int(period[5:]), 28),
        currency=currency,
        entity=entity,
        dimensions=Dimensions(class_="2") if currency == "USD" else None,
        lines=(
            JournalLine(account=deferred, debit=amount),
            JournalLine(
                account=revenue,
                credit=amount,
                memo="credits consumed",
                dimensions=Dimensions(department="10") if currency == "USD" else None,
            ),
        ),
        memo=f"creditsync recognition {period} {currency} (3 pools)",
    )


def put_body(fake: FakeNetSuite) -> dict[str, object]:
    put = next(r for r in fake.requests if r.method == "PUT")
    result: dict[str, object] = json.loads(put.content)
    return result


def test_an_entry_is_upserted_by_external_id_and_the_internal_id_is_its_sink_id(
    sink: NetSuiteSink, fake: FakeNetSuite
) -> None:
    assert isinstance(sink, JournalSink)
    sink_id = sink.post(entry())
    external_id = encode(entry().id)
    put = next(r for r in fake.requests if r.method == "PUT")
    assert put.url.path == f"{RECORD_PATH}/eid:{external_id}"
    assert put.url.params["replace"] == "line"
    assert sink_id == fake.journals[external_id].internal_id
    assert put_body(fake) == {
        "externalId": external_id,
        "tranDate": "2026-10-28",
        "currency": {"id": "1"},
        "memo": "creditsync recognition 2026-10 USD (3 pools)",
        "subsidiary": {"id": "1"},
        "postingPeriod": {"id": fake.periods["2026-10"]},
        "line": {
            "items": [
                {
                    "account": {"id": "251"},
                    "debit": 1234.56,
                    "memo": "creditsync recognition 2026-10 USD (3 pools)",
                    "class": {"id": "2"},
                },
                {
                    "account": {"id": "54"},
                    "credit": 1234.56,
                    "memo": "credits consumed",
                    "department": {"id": "10"},
                    "class": {"id": "2"},
                },
            ]
        },
    }
    # an upsert: posting again (a retry after a lost answer) leaves one entry, same id
    assert sink.post(entry()) == sink_id
    assert len(fake.journals) == 1


def test_the_entity_chooses_the_subsidiary_and_jpy_has_no_decimals(
    sink: NetSuiteSink, fake: FakeNetSuite
) -> None:
    sink.post(entry("je-gmbh-1", "EUR", 987_654, entity="acme-gmbh"))
    sink.post(entry("je-yen-1", "JPY", 150_000))
    gmbh = fake.journals[encode("je-gmbh-1")]
    assert (gmbh.subsidiary, gmbh.currency) == ("3", "4")
    assert [line.account for line in gmbh.lines] == ["412", "415"]
    assert gmbh.lines[0].debit == Decimal("9876.54")
    yen_put = [json.loads(r.content) for r in fake.requests if r.method == "PUT"][1]
    assert yen_put["line"]["items"][0]["debit"] == 150000
    assert isinstance(yen_put["line"]["items"][0]["debit"], int)


def test_read_back_gives_postings_with_creditsync_codes_and_ids(
    sink: NetSuiteSink, fake: FakeNetSuite
) -> None:
    first = sink.post(entry("je-a-1"))
    sink.post(entry("je-gmbh-1", "EUR", 987_654, entity="acme-gmbh"))
    sink.post(entry("je-b-1", period="2026-11"))
    postings = sink.posted("2026-10")
    assert [p.entry_id for p in postings] == ["je-a-1", "je-gmbh-1"]
    usd = postings[0]
    assert (usd.sink_id, usd.period, usd.entry_date, usd.currency) == (
        first,
        "2026-10",
        date(2026, 10, 28),
        "USD",
    )
    assert [(line.account, line.debit, line.credit) for line in usd.lines] == [
        ("2350", 123_456, 0),
        ("4010", 0, 123_456),
    ]
    assert usd.lines[1].dimensions == Dimensions(department="10", class_="2")
    assert postings[1].entity == "acme-gmbh"
    gmbh = postings[1].lines[0]
    assert (gmbh.account, gmbh.debit) == ("DE-1750", 987_654)
    query = json.loads(
        next(
            r
            for r in fake.requests
            if r.url.path == SUITEQL_PATH and b"transactionline" in r.content
        ).content
    )["q"]
    assert f"LIKE '{PREFIX}%'" in query and "'2026-10'" in query


def test_read_back_follows_has_more_pages(sink: NetSuiteSink, fake: FakeNetSuite) -> None:
    for n in range(600):  # two lines each: 1,200 rows, two SuiteQL pages of at most 1,000
        fake.journals[f"{PREFIX}je-{n}"] = _stored(n)
    postings = sink.posted("2026-10")
    assert len(postings) == 600
    offsets = [
        r.url.params["offset"]
        for r in fake.requests
        if r.url.path == SUITEQL_PATH and b"transactionline" in r.content
    ]
    assert offsets == ["0", "1000"]


def _stored(n: int) -> Journal:
    return Journal(
        internal_id=str(5000 + n),
        external_id=f"{PREFIX}je-{n}",
        tran_date="2026-10-31",
        period="2026-10",
        currency="1",
        subsidiary="1",
        memo="",
        lines=[
            Line("251", Decimal("1.00"), None, "", None, None, None),
            Line("54", None, Decimal("1.00"), "", None, None, None),
        ],
    )


def test_a_closed_period_blocks_the_entry_with_netsuites_words_and_is_not_retried(
    sink: NetSuiteSink, fake: FakeNetSuite
) -> None:
    fake.closed.add("2026-10")
    with pytest.raises(EntryBlocked) as caught:
        sink.post(entry())
    assert caught.value.period == "2026-10"
    assert "You cannot post to a closed period" in caught.value.message
    assert sum(r.method == "PUT" for r in fake.requests) == 1
    assert fake.journals == {}


def test_429_and_5xx_are_retried_honouring_retry_after(
    sink: NetSuiteSink, fake: FakeNetSuite, sleeps: list[float]
) -> None:
    sink.currency_id("USD")
    sink.period_id("2026-10")  # what is read once, read before the failures are queued
    fake.fail_next.extend(
        [
            httpx.Response(
                429,
                headers={"Retry-After": "3"},
                json=error_body(
                    429, "Too Many Requests", "Request limit exceeded.", "REQUEST_LIMIT_EXCEEDED"
                ),
            ),
            httpx.Response(
                503, json=error_body(503, "Service Unavailable", "Try again.", "UNEXPECTED_ERROR")
            ),
        ]
    )
    assert sink.post(entry())
    assert sleeps[0] == 3.0 and len(sleeps) == 2
    assert sum(r.method == "PUT" for r in fake.requests) == 3


def test_a_refusal_that_is_not_about_the_period_fails_at_once_with_the_error_code(
    sink: NetSuiteSink, fake: FakeNetSuite, sleeps: list[float]
) -> None:
    sink.currency_id("USD")
    sink.period_id("2026-10")
    fake.fail_next.append(
        httpx.Response(
            400,
            json=error_body(
                400,
                "Bad Request",
                "Invalid account reference key 251 for subsidiary 1.",
                "INVALID_KEY_OR_REF",
            ),
        )
    )
    with pytest.raises(NetSuiteRequestFailed) as caught:
        sink.post(entry())
    assert caught.value.status == 400 and caught.value.platform_code == "INVALID_KEY_OR_REF"
    assert "Invalid account reference key 251" in str(caught.value)
    assert sleeps == []


def test_retries_are_bounded(sink: NetSuiteSink, fake: FakeNetSuite) -> None:
    sink.currency_id("USD")
    sink.period_id("2026-10")
    fake.fail_next.extend(
        httpx.Response(502, json=error_body(502, "Bad Gateway", "down", "UNEXPECTED_ERROR"))
        for _ in range(10)
    )
    with pytest.raises(NetSuiteRequestFailed, match="still failing after 4 attempts"):
        sink.post(entry())


def test_an_account_nobody_mapped_is_refused_before_any_put(
    sink: NetSuiteSink, fake: FakeNetSuite
) -> None:
    odd = entry().model_copy(
        update={
            "lines": (JournalLine(account="9999", debit=5), JournalLine(account="4010", credit=5))
        }
    )
    with pytest.raises(InvalidInput, match="9999"):
        sink.post(odd)
    assert not any(r.method == "PUT" for r in fake.requests)


def test_accounts_given_by_number_are_resolved_once_through_suiteql(
    settings: NetSuiteSettings, fake: FakeNetSuite
) -> None:
    books = [
        book.model_copy(
            update={
                "sink": book.sink.model_copy(
                    update={
                        "account_ref": "number",
                        **book.accounts.model_dump(
                            include={
                                "deferred_revenue",
                                "revenue",
                                "breakage_revenue",
                                "refunds",
                                "clearing",
                            }
                        ),
                    }
                )
            }
        )
        for book in settings.gl_books
        if book.currency == "USD"
    ]
    by_number = NetSuiteSink(settings.model_copy(update={"gl_books": tuple(books)}))
    by_number.post(entry())
    by_number.post(entry("je-2"))
    assert [line.account for line in fake.journals[encode(entry().id)].lines] == ["251", "54"]
    lookups = [r for r in fake.requests if b"acctnumber" in r.content]
    assert len(lookups) == 1


@given(st.text(min_size=1, max_size=60))
def test_external_ids_use_netsuites_alphabet_and_decode_back(entry_id: str) -> None:
    external = encode(entry_id)
    assert external.startswith(PREFIX)
    assert all(c.isascii() and (c.isalnum() or c in "_-") for c in external)
    assert decode(external) == entry_id


def test_external_ids_of_others_are_not_creditsyncs() -> None:
    assert decode("SF-INV-10023") is None
    assert decode(f"{PREFIX}bad_zz") is None
    assert encode("je-abc-1") == f"{PREFIX}je-abc-1"  # plain ids stay readable in NetSuite


def test_an_unknown_period_in_netsuite_blocks_the_entry(
    sink: NetSuiteSink, fake: FakeNetSuite
) -> None:
    with pytest.raises(EntryBlocked, match="no accounting period for 2031-01"):
        sink.post(entry(period="2031-01"))
    assert not any(r.method == "PUT" for r in fake.requests)


def test_a_suiteql_answer_that_is_not_json_is_a_clear_error(
    sink: NetSuiteSink, fake: FakeNetSuite
) -> None:
    sink.client.tokens.token()
    fake.fail_next.append(httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(NetSuiteUnreadable, match="not JSON"):
        sink.posted("2026-10")


def test_a_posting_netsuite_holds_with_an_odd_amount_is_a_clear_error(
    sink: NetSuiteSink, fake: FakeNetSuite
) -> None:
    stored = _stored(1)
    stored.lines[0].debit = Decimal("1.005")
    stored.lines[1].credit = Decimal("1.005")
    fake.journals[stored.external_id] = stored
    with pytest.raises(UnreadablePosting, match="more decimals than USD allows"):
        sink.posted("2026-10")


def test_the_runtime_finds_the_netsuite_connection_by_platform_and_hands_it_the_gl_ids(
    tmp_path: Path, key_file: Path
) -> None:
    runtime = Runtime.from_settings(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'c.db'}",
            mapping_paths=[EXAMPLE_MAPPINGS],
            connections={
                "ns-prod": Connection(platform="netsuite", settings=raw_settings(key_file))
            },
        )
    )
    try:
        found = runtime.sink("netsuite")
        assert isinstance(found, NetSuiteSink)
        assert found.name == "ns-prod" and runtime.sink("ns-prod") is found
        assert len(found.settings.gl_books) == 5
        assert runtime.sink("files").name == "files"
    finally:
        runtime.engine.dispose()
