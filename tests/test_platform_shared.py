"""The shared paging loop and refund share every platform adapter uses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.platform.paging import every_item, first_item
from connector.platform.shares import net_share


def pages(*chunks: list[int]):  # type: ignore[no-untyped-def]
    """A reader over ``chunks`` with tokens "1", "2"... and a log of the tokens asked for."""
    asked: list[str | None] = []

    def fetch(token: str | None) -> tuple[list[int], str | None]:
        asked.append(token)
        index = int(token or 0)
        following = str(index + 1) if index + 1 < len(chunks) else None
        return chunks[index], following

    return fetch, asked


def test_every_item_follows_tokens_to_the_last_page() -> None:
    fetch, asked = pages([1, 2], [3], [], [4])

    assert list(every_item(fetch)) == [1, 2, 3, 4]
    assert asked == [None, "1", "2", "3"]


def test_a_repeated_token_ends_the_listing_instead_of_looping() -> None:
    asked: list[str | None] = []

    def stuck(token: str | None) -> tuple[list[int], str | None]:
        asked.append(token)
        return [len(asked)], "same"

    assert list(every_item(stuck)) == [1, 2]
    assert asked == [None, "same"]


def test_first_item_reads_no_further_than_needed() -> None:
    fetch, asked = pages([1, 2], [3, 4], [5])

    assert first_item(fetch, lambda n: n == 3) == 3
    assert asked == [None, "1"]
    assert first_item(pages([1])[0], lambda n: n > 5) is None


@pytest.mark.parametrize(
    ("gross_amount", "gross_total", "net_total", "share"),
    [
        (5_400, 10_800, 10_000, 5_000),
        (1, 3, 2, 1),
        (10_800, 10_800, 10_000, 10_000),
        (20_000, 10_800, 10_000, 10_000),
        (0, 100, 100, 0),
        (50, 0, 0, 0),
    ],
)
def test_net_share(gross_amount: int, gross_total: int, net_total: int, share: int) -> None:
    assert net_share(gross_amount, gross_total, net_total) == share


@given(st.integers(1, 10**9), st.integers(1, 10**9), st.data())
def test_net_share_is_bounded_and_monotonic(
    gross_total: int, net_total: int, data: st.DataObject
) -> None:
    a = data.draw(st.integers(0, gross_total))
    b = data.draw(st.integers(a, gross_total))

    assert 0 <= net_share(a, gross_total, net_total) <= net_share(b, gross_total, net_total)
    assert net_share(gross_total, gross_total, net_total) == net_total


# -- outbound checks and settings helpers ---------------------------------------------------


def test_outbound_checks_name_the_field_at_fault() -> None:
    from datetime import UTC, datetime

    from connector.errors import InvalidInput
    from connector.platform.outbound import check_overage, check_refill
    from connector.ports import OverageUsage, RefillRequest

    at = datetime(2026, 1, 5, tzinfo=UTC)
    good = OverageUsage(
        key="k", account_id="a", external_customer_id="c", credits=5, occurred_at=at
    )
    assert check_overage(good, "Acme") == at
    bad_usages = {
        "credits": OverageUsage("k", "a", "c", 0, at),
        "key": OverageUsage("", "a", "c", 5, at),
        "external_customer_id": OverageUsage("k", "a", "", 5, at),
        "occurred_at": OverageUsage("k", "a", "c", 5, at.replace(tzinfo=None)),
    }
    for field, usage in bad_usages.items():
        with pytest.raises(InvalidInput) as caught:
            check_overage(usage, "Acme")
        assert caught.value.field == field
    with pytest.raises(InvalidInput, match="Acme customer"):
        check_refill(RefillRequest("k", "a", "", "item"), "Acme")
    with pytest.raises(InvalidInput) as refused:
        check_refill(RefillRequest("k", "a", "c", "item", quantity=True), "Acme")  # type: ignore[arg-type]
    assert refused.value.field == "quantity"


def test_backfill_dates_are_midnight_utc_and_naive_instants_are_refused() -> None:
    from datetime import UTC, date, datetime, timedelta, timezone

    from connector.platform.settings import aware_utc, date_or_instant

    assert date_or_instant("2026-01-01") == datetime(2026, 1, 1, tzinfo=UTC)
    assert date_or_instant(date(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)
    assert date_or_instant("2026-01-01T05:00:00+02:00") == "2026-01-01T05:00:00+02:00"
    plus_two = datetime(2026, 1, 1, 5, tzinfo=timezone(timedelta(hours=2)))
    assert aware_utc(plus_two) == datetime(2026, 1, 1, 3, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone"):
        aware_utc(datetime(2026, 1, 1))
