"""The shared helpers adapters add to connector/platform: gross-to-net shares of refunds,
proportional spreads, the checks before outbound requests, and the backfill_from setting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr, ValidationError

from connector.errors import InvalidInput
from connector.platform.requests import check_overage, check_refill
from connector.platform.settings import BackfillFrom, require_setting
from connector.platform.shares import GrossToNet, spread
from connector.ports import OverageUsage, RefillRequest


def test_the_net_share_of_a_taxed_refund() -> None:
    totals = GrossToNet(gross_total=10_800, net_total=10_000)

    assert totals.share(1_080) == 1_000
    assert totals.share(20_000) == 10_000  # never more than the net total
    assert GrossToNet(gross_total=0, net_total=0).share(500) == 0


@given(
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=0, max_value=10**9),
    st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=20),
)
def test_refunds_in_parts_add_up_to_the_share_of_their_sum(
    gross: int, net: int, parts: list[int]
) -> None:
    totals = GrossToNet(gross_total=gross, net_total=min(net, gross))
    before = 0
    shares = []
    for part in parts:
        shares.append(totals.share_after(before, part))
        before += part

    assert sum(shares) == totals.share(sum(parts))
    assert all(share >= 0 for share in shares)


@given(
    st.integers(min_value=0, max_value=10**9),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=20),
)
def test_a_spread_adds_up_exactly(amount: int, weights: list[int]) -> None:
    parts = spread(amount, weights)

    assert sum(parts) == amount and len(parts) == len(weights)
    assert all(part >= 0 for part in parts)


def test_a_spread_follows_the_weights() -> None:
    assert spread(1001, [1, 1]) == [500, 501]  # half to even on the cumulative figure
    assert spread(100, [0, 0]) == [100, 0]
    assert spread(100, []) == []


AT = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"credits": 0}, "credits"),
        ({"key": ""}, "key"),
        ({"external_customer_id": ""}, "external_customer_id"),
    ],
)
def test_overage_that_cannot_be_right_is_refused(change: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "key": "k",
        "account_id": "a",
        "external_customer_id": "c",
        "credits": 5,
        "occurred_at": AT,
    }
    values.update(change)

    with pytest.raises(InvalidInput) as caught:
        check_overage(OverageUsage(**values), "Zuora", "link it")  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"key": ""}, "key"),
        ({"external_customer_id": ""}, "external_customer_id"),
    ],
)
def test_refills_that_cannot_be_right_are_refused(change: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "key": "k",
        "account_id": "a",
        "external_customer_id": "c",
        "item_id": "i",
        "quantity": 1,
    }
    values.update(change)

    with pytest.raises(InvalidInput) as caught:
        check_refill(RefillRequest(**values), "Zuora", "link it")  # type: ignore[arg-type]
    assert caught.value.field == field


class Example(BaseModel):
    backfill_from: BackfillFrom | None = None
    api_key: SecretStr | None = None


def test_backfill_from_takes_a_date_or_an_aware_instant_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))

    assert Example(backfill_from="2026-01-01").backfill_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert Example(backfill_from=date(2026, 1, 1)).backfill_from == datetime(2026, 1, 1, tzinfo=UTC)
    moment = Example(backfill_from=datetime(2026, 1, 1, 2, tzinfo=plus_two)).backfill_from
    assert moment == datetime(2026, 1, 1, tzinfo=UTC) and moment.tzinfo == UTC
    with pytest.raises(ValidationError, match="has no timezone"):
        Example(backfill_from="2026-01-01T10:00:00")


def test_a_missing_setting_is_named_with_its_fix() -> None:
    with pytest.raises(
        InvalidInput, match=r"api_key: is required for syncing \(give a key\)"
    ) as caught:
        require_setting(Example(), "api_key", "syncing", {"api_key": "give a key"})
    assert caught.value.field == "api_key"
