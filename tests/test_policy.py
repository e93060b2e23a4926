"""The low-balance policy end to end: burns record alerts, refills and overage in their own
transaction; the jobs charge refills and report overage through Stripe (mocked with respx at the
HTTP layer, so the real SDK and adapter run) and deliver alerts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx
from sqlalchemy import event, func, select, update

from connector import metrics
from connector.errors import InsufficientCredits
from connector.events import SourceKey
from connector.ledger import accounts
from connector.ledger.burns import burn as burn_in
from connector.ledger.models import BurnRequest, BurnResult, GrantRequest, PoolKind
from connector.ledger.service import Ledger
from connector.policy import store
from connector.policy.jobs import (
    ALERT_RETRY_WINDOW,
    alerts_job,
    charge_refills,
    overage_job,
    refill_job,
    run_policy,
)
from connector.policy.model import Alert, Overage, Refill
from connector.policy.tables import balance_alerts, overage_reports, refill_requests
from connector.runtime import Runtime
from connector.store.tables import burns
from connector.sync.lease import held
from tests.stripe.stripe_payloads import (
    error_body,
    invoice,
    invoice_line,
    list_envelope,
    meter_event,
    price,
)
from tests.sync_helpers import runtime_for

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

API = "https://api.stripe.com"
FIXTURES = Path(__file__).parent / "stripe" / "fixtures"
JAN = datetime(2026, 1, 10, 12, tzinfo=UTC)
STRIPE = {
    "platform": "stripe",
    "settings": {
        "api_key": "sk_test_x",
        "meter_event_name": "credits_overage",
        "max_attempts": 1,  # the adapter's own retries are tested with the adapter
    },
}
_serial = count(1)


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Runtime:
    rt = runtime_for(db_url, tmp_path, connections={"stripe": STRIPE})
    rt.ledger.set_rate("query", "1", JAN - timedelta(days=30))
    return rt


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


def account(runtime: Runtime, plan: str, *, account_id: str = "acme", link: bool = True) -> str:
    with runtime.engine.begin() as conn:
        accounts.ensure_account(conn, account_id)
        if link:
            accounts.link(conn, "stripe", f"cus_{account_id}", account_id)
        accounts.set_plan(conn, account_id, plan)
    return account_id


def grant(runtime: Runtime, credits: int, account_id: str = "acme") -> None:
    n = next(_serial)
    runtime.ledger.grant(
        GrantRequest(
            account_id=account_id,
            kind=PoolKind.PAID,
            credits=credits,
            revenue_amount=credits,
            currency="USD",
            effective_at=JAN - timedelta(days=1),
            source=SourceKey(platform="stripe", object_id=f"in_{n}", line_id=f"il_{n}"),
        )
    )


def burn(runtime: Runtime, key: str, units: int, account_id: str = "acme") -> BurnResult:
    return runtime.ledger.burn(
        BurnRequest(
            account_id=account_id, idempotency_key=key, action="query", units=units, occurred_at=JAN
        )
    )


def alerts(runtime: Runtime) -> list[Alert]:
    return sorted(store.list_alerts(runtime.engine), key=lambda a: a.id)


def refills(runtime: Runtime) -> list[Refill]:
    return sorted(store.list_refills(runtime.engine), key=lambda r: r.id)


def overages(runtime: Runtime) -> list[Overage]:
    return sorted(store.list_overage(runtime.engine), key=lambda o: o.burn_id)


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


def counter(metric: Any, *labels: str) -> float:
    value: float = metric.labels(*labels)._value.get()
    return value


# --- notify -------------------------------------------------------------------------------------


def test_crossing_the_notify_threshold_raises_one_alert_until_a_grant_rearms_it(
    runtime: Runtime,
) -> None:
    account(runtime, "standard")  # notify_below = 1000, hard limit
    grant(runtime, 1500)

    assert burn(runtime, "b1", 400).balance == 1100
    assert alerts(runtime) == []
    crossing = burn(runtime, "b2", 200)
    assert crossing.balance == 900
    burn(runtime, "b3", 100)  # further below: no second alert
    burn(runtime, "b2", 200)  # the crossing burn retried: replayed, nothing new

    [first] = alerts(runtime)
    assert (first.account_id, first.kind, first.threshold, first.balance) == (
        "acme",
        "low_balance",
        1000,
        900,
    )
    assert (first.burn_id, first.status) == (crossing.burn_id, "pending")

    grant(runtime, 1000)  # 1800: back above the threshold
    rearmed = burn(runtime, "b4", 850)

    assert [a.burn_id for a in alerts(runtime)] == [crossing.burn_id, rearmed.burn_id]
    assert alerts(runtime)[1].balance == 950


def test_an_alert_rolls_back_with_its_burn(runtime: Runtime) -> None:
    account(runtime, "standard")
    grant(runtime, 1500)

    with pytest.raises(RuntimeError), runtime.engine.begin() as conn:
        result = burn_in(
            conn,
            BurnRequest("acme", "b1", "query", 600, JAN),
            plans=runtime.plan_policy,
        )
        assert result.balance == 900
        assert conn.execute(select(func.count()).select_from(balance_alerts)).scalar_one() == 1
        raise RuntimeError("the caller's transaction fails after the burn")

    assert alerts(runtime) == []
    assert burn(runtime, "b1", 600).balance == 900  # burned for real this time
    assert len(alerts(runtime)) == 1


def test_a_batch_burn_crossing_the_threshold_raises_the_alert(runtime: Runtime) -> None:
    account(runtime, "standard")
    grant(runtime, 1200)

    outcomes = runtime.ledger.burn_batch(
        [BurnRequest("acme", f"k{i}", "query", 100, JAN) for i in range(4)]
    )

    results = [o.result for o in outcomes if o.result is not None]
    assert [r.balance for r in results] == [1100, 1000, 900, 800]
    [alert] = alerts(runtime)
    assert (alert.burn_id, alert.balance) == (results[2].burn_id, 900)


def test_a_burn_that_crosses_nothing_costs_no_extra_statement(runtime: Runtime) -> None:
    account(runtime, "pro")  # notify, refill and overage rules: a hook runs after every burn
    account(runtime, "pro", account_id="plain")
    grant(runtime, 100_000)
    grant(runtime, 100_000, account_id="plain")
    statements: list[str] = []

    def count_statement(*args: Any) -> None:
        statements.append(args[2])

    bare = Ledger(runtime.engine)  # the same ledger without any plan policy
    event.listen(runtime.engine, "before_cursor_execute", count_statement)
    try:
        burn(runtime, "b1", 10)
        with_policy = len(statements)
        statements.clear()
        bare.burn(BurnRequest("plain", "b1", "query", 10, JAN))
        without = len(statements)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count_statement)

    assert with_policy == without
    assert alerts(runtime) == [] and refills(runtime) == [] and overages(runtime) == []


def test_without_a_notify_url_alerts_are_logged_and_marked_delivered(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    account(runtime, "standard")
    grant(runtime, 1000)
    burn(runtime, "b1", 10)

    summary = alerts_job(runtime)

    assert summary is not None and (summary.done, summary.retry, summary.failed) == (1, 0, 0)
    [alert] = alerts(runtime)
    assert alert.status == "delivered" and alert.delivered_at is not None
    assert "low_balance: account acme at 990 credits (threshold 1000)" in caplog.text
    assert alerts_job(runtime) is not None
    assert alerts(runtime)[0].delivered_at == alert.delivered_at  # not delivered twice


def test_alerts_are_posted_to_the_notify_url(runtime: Runtime, router: respx.MockRouter) -> None:
    hook = router.post("https://hooks.example.com/credits").mock(return_value=httpx.Response(204))
    account(runtime, "standard")
    grant(runtime, 1000)
    crossing = burn(runtime, "b1", 10)
    before = counter(metrics.POLICY_ALERTS, "low_balance", "delivered")

    summary = alerts_job(runtime, "https://hooks.example.com/credits")

    assert summary is not None and summary.done == 1
    request = hook.calls.last.request
    [alert] = alerts(runtime)
    assert request.headers["Idempotency-Key"] == alert.key
    body = json.loads(request.content)
    assert body == {
        "type": "creditsync.low_balance",
        "key": alert.key,
        "account_id": "acme",
        "threshold": 1000,
        "balance": 990,
        "burn_id": crossing.burn_id,
        "created_at": alert.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert alert.status == "delivered"
    assert counter(metrics.POLICY_ALERTS, "low_balance", "delivered") == before + 1


def test_a_refused_alert_stays_pending_then_fails_when_too_old(
    runtime: Runtime, router: respx.MockRouter
) -> None:
    hook = router.post("https://hooks.example.com/credits").mock(
        return_value=httpx.Response(503, text="down for maintenance")
    )
    account(runtime, "standard")
    grant(runtime, 1000)
    burn(runtime, "b1", 10)

    summary = alerts_job(runtime, "https://hooks.example.com/credits")
    assert summary is not None and (summary.done, summary.retry) == (0, 1)
    assert alerts(runtime)[0].status == "pending"

    with runtime.engine.begin() as conn:
        old = datetime.now(UTC) - ALERT_RETRY_WINDOW - timedelta(minutes=1)
        conn.execute(update(balance_alerts).values(created_at=old))
    summary = alerts_job(runtime, "https://hooks.example.com/credits")

    assert summary is not None and summary.failed == 1
    assert alerts(runtime)[0].status == "failed"
    assert hook.call_count == 2


# --- overage ------------------------------------------------------------------------------------


def test_overage_is_recorded_and_reported_as_a_stripe_meter_event(
    runtime: Runtime, router: respx.MockRouter
) -> None:
    account(runtime, "pro")  # limit = overage
    grant(runtime, 100)
    result = burn(runtime, "b1", 150)
    assert (result.balance, result.overage_credits) == (0, 50)
    [pending] = overages(runtime)
    assert (pending.burn_id, pending.credits, pending.platform, pending.status) == (
        result.burn_id,
        50,
        "stripe",
        "pending",
    )
    identifier = f"overage-{result.burn_id}"
    ts = int(JAN.timestamp())
    meter = router.post(f"{API}/v1/billing/meter_events").mock(
        return_value=httpx.Response(
            200, json=meter_event("credits_overage", "cus_acme", 50, identifier, ts)
        )
    )
    credits_before = counter(metrics.POLICY_OVERAGE_CREDITS, "stripe")

    summary = overage_job(runtime)

    assert summary is not None and summary.done == 1
    assert form(meter.calls.last.request) == {
        "event_name": "credits_overage",
        "payload[stripe_customer_id]": "cus_acme",
        "payload[value]": "50",
        "identifier": identifier,
        "timestamp": str(ts),
    }
    assert meter.calls.last.request.headers["Idempotency-Key"] == f"{identifier}:meter_event"
    [reported] = overages(runtime)
    assert (reported.status, reported.external_id, reported.attempts) == (
        "reported",
        identifier,
        1,
    )
    assert reported.reported_at is not None
    assert counter(metrics.POLICY_OVERAGE_CREDITS, "stripe") == credits_before + 50

    replayed = burn(runtime, "b1", 150)  # the product retries the burn
    assert replayed.replayed and replayed.overage_credits == 50
    overage_job(runtime)
    assert len(overages(runtime)) == 1 and meter.call_count == 1


def test_every_overage_burn_is_reported_on_its_own_key(
    runtime: Runtime, router: respx.MockRouter
) -> None:
    meter = router.post(f"{API}/v1/billing/meter_events").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json=meter_event(
                "credits_overage",
                "cus_acme",
                int(form(request)["payload[value]"]),
                form(request)["identifier"],
                int(form(request)["timestamp"]),
            ),
        )
    )
    account(runtime, "pro")
    first = burn(runtime, "b1", 30)  # no pool at all: everything is overage
    second = burn(runtime, "b2", 20)

    run_policy(runtime)

    sent = [(form(c.request)["identifier"], form(c.request)["payload[value]"]) for c in meter.calls]
    assert sent == [(f"overage-{first.burn_id}", "30"), (f"overage-{second.burn_id}", "20")]
    assert [o.status for o in overages(runtime)] == ["reported", "reported"]


def test_overage_of_an_account_no_platform_bills_is_unbillable_with_the_reason(
    runtime: Runtime, router: respx.MockRouter
) -> None:
    account(runtime, "pro", link=False)
    result = burn(runtime, "b1", 10)

    [record] = overages(runtime)
    assert (record.burn_id, record.status, record.platform) == (result.burn_id, "unbillable", None)
    assert record.error is not None and "no customer id on stripe" in record.error
    overage_job(runtime)
    assert router.calls.call_count == 0
    assert overages(runtime)[0].status == "unbillable"


def test_a_meter_event_stripe_refuses_fails_the_report_with_its_message(
    runtime: Runtime, router: respx.MockRouter
) -> None:
    router.post(f"{API}/v1/billing/meter_events").mock(
        return_value=httpx.Response(
            400,
            json=error_body("No active meter found for event_name credits_overage."),
        )
    )
    account(runtime, "pro")
    burn(runtime, "b1", 10)

    summary = overage_job(runtime)

    assert summary is not None and summary.failed == 1
    [record] = overages(runtime)
    assert record.status == "failed" and record.attempts == 1
    assert record.error is not None
    assert "No active meter found for event_name credits_overage." in record.error


def test_a_hard_limit_refuses_the_burn_and_records_nothing(runtime: Runtime) -> None:
    account(runtime, "standard")
    grant(runtime, 100)

    with pytest.raises(InsufficientCredits):
        burn(runtime, "b1", 150)

    with runtime.engine.connect() as conn:
        for table in (burns, overage_reports, balance_alerts, refill_requests):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
    assert runtime.ledger.balance("acme").total == 100


# --- auto-refill --------------------------------------------------------------------------------


@pytest.fixture
def refill_routes(router: respx.MockRouter) -> dict[str, respx.Route]:
    line = invoice_line(
        "il_refill", invoice_id="in_refill", price="credits_refill_10k", amount=10_000
    )
    draft = invoice("in_refill", status="draft", customer="cus_acme", lines=[])
    open_ = invoice("in_refill", status="open", customer="cus_acme", lines=[line])
    paid = invoice("in_refill", status="paid", customer="cus_acme", lines=[line])
    item = {"id": "ii_refill", "object": "invoiceitem", "invoice": "in_refill", "quantity": 1}
    refill_price = price("price_refill_10k", lookup_key="credits_refill_10k")
    return {
        "price": router.get(f"{API}/v1/prices").mock(
            return_value=httpx.Response(200, json=list_envelope([refill_price], url="/v1/prices"))
        ),
        "create": router.post(f"{API}/v1/invoices").mock(
            return_value=httpx.Response(200, json=draft)
        ),
        "item": router.post(f"{API}/v1/invoiceitems").mock(
            return_value=httpx.Response(200, json=item)
        ),
        "finalize": router.post(f"{API}/v1/invoices/in_refill/finalize").mock(
            return_value=httpx.Response(200, json=open_)
        ),
        "pay": router.post(f"{API}/v1/invoices/in_refill/pay").mock(
            return_value=httpx.Response(200, json=paid)
        ),
    }


def test_auto_refill_records_one_request_and_the_job_pays_a_stripe_invoice(
    runtime: Runtime, router: respx.MockRouter, refill_routes: dict[str, respx.Route]
) -> None:
    account(runtime, "pro")  # auto_refill below 2000: 1 x credits_refill_10k on stripe
    grant(runtime, 2500)
    burn(runtime, "b1", 400)  # 2100: not yet
    assert refills(runtime) == []
    crossing = burn(runtime, "b2", 200)  # 1900: crossed
    burn(runtime, "b3", 300)  # 1600: already below, no second refill

    [request] = refills(runtime)
    assert request.key == f"refill-acme-{crossing.burn_id}"
    assert (request.platform, request.item_id, request.quantity, request.balance) == (
        "stripe",
        "credits_refill_10k",
        1,
        1900,
    )
    assert request.status == "pending"
    charged_before = counter(metrics.POLICY_REFILLS, "stripe", "charged")

    summary = refill_job(runtime)

    assert summary is not None and summary.done == 1
    assert [c.request.url.path for c in router.calls] == [
        "/v1/prices",  # the plan names the refill by its lookup key
        "/v1/invoices",
        "/v1/invoiceitems",
        "/v1/invoices/in_refill/finalize",
        "/v1/invoices/in_refill/pay",
    ]
    writes = [c for c in router.calls if c.request.method == "POST"]
    assert [c.request.headers["Idempotency-Key"] for c in writes] == [
        f"{request.key}:{step}" for step in ("invoice", "item", "finalize", "pay")
    ]
    created = form(refill_routes["create"].calls.last.request)
    assert created["customer"] == "cus_acme"
    assert created["metadata[creditsync_refill]"] == request.key
    assert created["metadata[creditsync_account]"] == "acme"
    item = form(refill_routes["item"].calls.last.request)
    assert (item["pricing[price]"], item["quantity"]) == ("price_refill_10k", "1")
    [charged] = refills(runtime)
    assert (charged.status, charged.external_id, charged.attempts, charged.error) == (
        "charged",
        "in_refill",
        1,
        None,
    )
    assert counter(metrics.POLICY_REFILLS, "stripe", "charged") == charged_before + 1

    refill_job(runtime)  # nothing pending: Stripe is not called again
    assert router.calls.call_count == 5


def test_a_second_refill_needs_credits_granted_in_between(runtime: Runtime) -> None:
    account(runtime, "pro")
    grant(runtime, 2100)
    first = burn(runtime, "b1", 200)  # 1900
    burn(runtime, "b2", 100)
    grant(runtime, 10_000)  # the refill's invoice arrived as a purchase: 11,800
    second = burn(runtime, "b3", 9_900)  # 1900 again

    assert [r.key for r in refills(runtime)] == [
        f"refill-acme-{first.burn_id}",
        f"refill-acme-{second.burn_id}",
    ]


def test_a_declined_card_fails_the_refill_with_stripes_message_and_alerts(
    runtime: Runtime, refill_routes: dict[str, respx.Route]
) -> None:
    declined = json.loads((FIXTURES / "card_declined_error.json").read_text())
    refill_routes["pay"].mock(return_value=httpx.Response(402, json=declined))
    account(runtime, "pro")
    grant(runtime, 2000)
    burn(runtime, "b1", 1)

    summary = refill_job(runtime)

    assert summary is not None and summary.failed == 1
    [failed] = refills(runtime)
    assert failed.status == "failed" and failed.attempts == 1
    assert failed.error is not None and "Your card was declined." in failed.error
    assert refill_routes["pay"].call_count == 1
    [alert] = alerts(runtime)
    assert (alert.kind, alert.threshold, alert.balance, alert.key) == (
        "refill_failed",
        2000,
        1999,
        f"failed-{failed.key}",
    )


def test_a_refill_stripe_cannot_take_now_is_retried_then_failed(
    runtime: Runtime, refill_routes: dict[str, respx.Route]
) -> None:
    busy = error_body("An unknown error occurred", type_="api_error")
    refill_routes["create"].mock(return_value=httpx.Response(500, json=busy))
    account(runtime, "pro")
    grant(runtime, 2000)
    burn(runtime, "b1", 1)

    first = charge_refills(runtime, max_attempts=2)
    assert (first.retry, first.failed) == (1, 0)
    [waiting] = refills(runtime)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.error is not None and "An unknown error occurred" in waiting.error

    second = charge_refills(runtime, max_attempts=2)
    assert (second.retry, second.failed) == (0, 1)
    assert refills(runtime)[0].status == "failed"
    assert refill_routes["create"].call_count == 2
    assert refill_routes["pay"].call_count == 0


def test_a_refill_no_connection_can_charge_is_recorded_failed_with_the_reason(
    db_url: str, tmp_path: Path
) -> None:
    runtime = runtime_for(db_url, tmp_path)  # no connections at all
    runtime.ledger.set_rate("query", "1", JAN - timedelta(days=30))
    account(runtime, "pro")
    grant(runtime, 2000)
    crossing = burn(runtime, "b1", 1)

    [refill] = refills(runtime)
    assert (refill.status, refill.platform, refill.item_id) == (
        "failed",
        "stripe",
        "credits_refill_10k",
    )
    assert refill.error is not None
    assert "no enabled connection can charge a refill on stripe" in refill.error
    [alert] = alerts(runtime)
    assert (alert.kind, alert.burn_id) == ("refill_failed", crossing.burn_id)
    assert charge_refills(runtime).seen == 0


def test_a_refill_for_an_unlinked_account_is_recorded_failed(runtime: Runtime) -> None:
    account(runtime, "pro", link=False)
    grant(runtime, 2000)
    burn(runtime, "b1", 1)

    [refill] = refills(runtime)
    assert refill.status == "failed"
    assert refill.error is not None and "'acme' has no customer id on stripe" in refill.error


def test_policy_jobs_already_running_elsewhere_are_skipped(runtime: Runtime) -> None:
    account(runtime, "pro")
    grant(runtime, 2000)
    burn(runtime, "b1", 1)

    with held(runtime.engine, "job:policy-refill"):
        assert refill_job(runtime) is None
    assert refills(runtime)[0].status == "pending"


def test_records_list_newest_first_and_filter_by_status(runtime: Runtime) -> None:
    account(runtime, "pro")
    burn(runtime, "b1", 5)
    account(runtime, "pro", account_id="beta", link=False)
    burn(runtime, "b2", 7, account_id="beta")

    assert [o.account_id for o in store.list_overage(runtime.engine)] == ["beta", "acme"]
    assert [o.credits for o in store.list_overage(runtime.engine, "unbillable")] == [7]
    assert [o.credits for o in store.list_overage(runtime.engine, account_id="acme")] == [5]
    assert store.counts(runtime.engine, overage_reports) == {"pending": 1, "unbillable": 1}
