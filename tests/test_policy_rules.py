"""The policy's pure decisions: threshold crossings, refill and usage routing, which plans need a
hook at all, and which errors are worth another try."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import pytest
from sqlalchemy import Connection as DbConnection

from adapters.stripe.retry import StripeRequestFailed
from connector.errors import InvalidInput
from connector.ledger.models import BurnResult
from connector.platform.retry import Failure
from connector.policy.hook import hook_for
from connector.policy.jobs import retryable
from connector.policy.routes import PlatformRoutes, routes_from
from connector.policy.rules import crossed, refill_route, usage_route
from connector.settings import Connection
from mappings.model import AutoRefill, LowBalance


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (1500, 900, True),  # from above to below
        (1000, 999, True),  # exactly at the threshold is not below it yet
        (1000, 1000, False),  # at the threshold after: not below
        (1100, 1000, False),
        (900, 800, False),  # already below: crossed earlier
        (0, 0, False),
    ],
)
def test_only_the_burn_that_goes_below_crosses(before: int, after: int, expected: bool) -> None:
    assert crossed(before, after, 1000) is expected


ITEMS = {"chargebee": "refill-cb", "stripe": "refill-st"}


def test_a_refill_goes_to_the_first_item_platform_that_is_linked_and_chargeable() -> None:
    route = refill_route("acme", ITEMS, {"stripe", "chargebee"}, {"stripe", "chargebee"})
    assert (route.platform, route.item_id, route.problem) == ("chargebee", "refill-cb", None)
    route = refill_route("acme", ITEMS, {"stripe", "chargebee"}, {"stripe"})
    assert (route.platform, route.item_id, route.problem) == ("stripe", "refill-st", None)


def test_a_refill_that_cannot_be_charged_says_why() -> None:
    no_connection = refill_route("acme", ITEMS, {"stripe"}, set())
    assert (no_connection.platform, no_connection.item_id) == ("stripe", "refill-st")
    assert no_connection.problem == (
        "no enabled connection can charge a refill on stripe; "
        'add a connection with platform = "stripe" whose adapter has a charger'
    )
    unlinked = refill_route("acme", ITEMS, {"zuora"}, {"stripe"})
    assert (unlinked.platform, unlinked.item_id) == ("chargebee", "refill-cb")
    assert unlinked.problem is not None
    assert unlinked.problem.startswith("account 'acme' has no customer id on chargebee, stripe")


def test_overage_goes_to_the_first_usage_platform_the_account_is_linked_to() -> None:
    assert usage_route("acme", {"stripe", "zuora"}, ["zuora", "stripe"]).platform == "zuora"
    unlinked = usage_route("acme", {"files"}, ["stripe"])
    assert unlinked.platform is None
    assert unlinked.problem is not None and "no customer id on stripe" in unlinked.problem
    nothing = usage_route("acme", {"stripe"}, [])
    assert nothing.problem is not None and "no enabled connection bills usage" in nothing.problem


def test_a_plan_with_nothing_to_act_on_adds_no_hook_to_its_burns() -> None:
    def routes() -> PlatformRoutes:
        raise AssertionError("routes are asked for only when something must be routed")

    assert hook_for(LowBalance(), routes) is None
    assert hook_for(LowBalance(notify_below=10), routes) is not None
    assert hook_for(LowBalance(limit="overage"), routes) is not None
    refill = AutoRefill(below=5, items={"stripe": "price_x"})
    assert hook_for(LowBalance(auto_refill=refill), routes) is not None


def test_a_burn_that_crosses_nothing_touches_neither_the_database_nor_the_routes() -> None:
    def routes() -> PlatformRoutes:
        raise AssertionError("routes are asked for only when something must be routed")

    refill = AutoRefill(below=20, items={"stripe": "price_x"})
    hook = hook_for(LowBalance(notify_below=100, auto_refill=refill, limit="overage"), routes)
    assert hook is not None
    result = BurnResult(
        burn_id=1,
        account_id="acme",
        idempotency_key="k",
        action="query",
        units=5,
        credits=5,
        rate_version=1,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        allocations=(),
        balance=90,
    )
    no_database = cast(DbConnection, None)  # any use of it would raise

    hook(no_database, result, 95)  # 95 -> 90: already below 100, above 20, no overage


def test_routes_come_from_enabled_connections_whose_adapter_can_do_the_job() -> None:
    routes = routes_from(
        {
            "old": Connection(platform="stripe", enabled=False),
            "eu": Connection(platform="stripe"),
            "us": Connection(platform="stripe"),
            "shop": Connection(platform="files"),
            "typo": Connection(platform="strpie"),
        }
    )
    assert dict(routes.chargers) == {"stripe": "eu"}
    assert dict(routes.usage) == {"stripe": "eu"}


def _stripe_error(retry: bool) -> StripeRequestFailed:
    return StripeRequestFailed(
        platform="Stripe",
        method="post",
        path="/v1/invoices",
        failure=Failure(retryable=retry, status=500 if retry else 402, message="x"),
        attempts=1,
    )


def test_only_errors_that_may_pass_next_time_are_retried() -> None:
    assert retryable(_stripe_error(True)) is True
    assert retryable(_stripe_error(False)) is False
    assert retryable(InvalidInput("meter_event_name", "is required")) is False
    assert retryable(ConnectionError("reset by peer")) is True
