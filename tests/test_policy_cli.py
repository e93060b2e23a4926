"""`creditsync policy ...` through Typer's test runner, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import httpx
import pytest
import respx
import typer
from typer.testing import CliRunner

from connector.cli import common, policy_cmd
from connector.events import SourceKey
from connector.ledger import accounts
from connector.ledger.models import BurnRequest, GrantRequest, PoolKind
from connector.runtime import Runtime
from tests.stripe.stripe_payloads import list_envelope, meter_event, price

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

JAN = datetime(2026, 1, 10, 12, tzinfo=UTC)
STRIPE = {
    "platform": "stripe",
    "settings": {"api_key": "sk_test_x", "meter_event_name": "credits_overage", "max_attempts": 1},
}


@pytest.fixture
def runtime(cli_settings: str, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """Settings from the environment, as the command line reads them."""
    monkeypatch.setattr(common.console, "width", 200)  # wide tables: no wrapped cells
    monkeypatch.setenv("CREDITSYNC_CONNECTIONS", json.dumps({"stripe": STRIPE}))
    runtime = Runtime.from_settings()
    runtime.ledger.set_rate("query", "1", JAN - timedelta(days=30))
    return runtime


@pytest.fixture
def app() -> typer.Typer:
    root = typer.Typer()
    policy_cmd.register(root)
    return root


def run(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["policy", *args], terminal_width=200)
    return result.exit_code, result.output


def setup_accounts(runtime: Runtime) -> None:
    """acme (pro): one burn crosses both thresholds and runs into overage; beta: unlinked."""
    with runtime.engine.begin() as conn:
        for account_id in ("acme", "beta"):
            accounts.ensure_account(conn, account_id)
            accounts.set_plan(conn, account_id, "pro")
        accounts.link(conn, "stripe", "cus_acme", "acme")
    runtime.ledger.grant(
        GrantRequest(
            account_id="acme",
            kind=PoolKind.PAID,
            credits=6000,
            revenue_amount=6000,
            currency="USD",
            effective_at=JAN - timedelta(days=1),
            source=SourceKey(platform="stripe", object_id="in_1", line_id="il_1"),
        )
    )
    # from 6000 past notify_below (5000) and the refill threshold (2000) to 100 over
    runtime.ledger.burn(BurnRequest("acme", "b1", "query", 6100, JAN))
    runtime.ledger.burn(BurnRequest("beta", "b2", "query", 7, JAN))  # unbillable


def test_the_lists_show_what_the_policy_recorded(app: typer.Typer, runtime: Runtime) -> None:
    setup_accounts(runtime)

    code, output = run(app, "overage")
    assert code == 0, output
    assert "2 overage reports" in output
    assert "unbillable" in output and "pending" in output and "stripe" in output

    code, output = run(app, "overage", "--status", "unbillable")
    assert code == 0 and "1 overage reports" in output and "beta" in output
    assert "acme" not in output

    code, output = run(app, "refills")
    assert code == 0 and "1 refill requests" in output
    assert "refill-acme-1" in output and "credits_refill_10k" in output

    code, output = run(app, "alerts", "--account", "acme")
    assert code == 0 and "1 alerts" in output and "low_balance" in output


def test_an_unknown_status_is_refused_naming_the_choices(
    app: typer.Typer, runtime: Runtime
) -> None:
    code, output = run(app, "refills", "--status", "done")
    assert code == 1
    assert "status: unknown status 'done' (one of pending, charged, failed)" in output


def test_run_executes_the_three_jobs_and_summarizes(
    app: typer.Typer, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    setup_accounts(runtime)
    declined = {"error": {"type": "card_error", "code": "card_declined", "message": "Declined."}}
    refill_price = price("price_refill_10k", lookup_key="credits_refill_10k")
    with respx.mock(assert_all_mocked=True) as router:
        router.get("https://api.stripe.com/v1/prices").mock(
            return_value=httpx.Response(200, json=list_envelope([refill_price], url="/v1/prices"))
        )
        router.post("https://api.stripe.com/v1/invoices").mock(
            return_value=httpx.Response(402, json=declined)
        )
        meter = router.post("https://api.stripe.com/v1/billing/meter_events").mock(
            return_value=httpx.Response(
                200,
                json=meter_event("credits_overage", "cus_acme", 100, "overage-1", 1),
            )
        )
        code, output = run(app, "run")

    assert code == 0, output
    rows = {line.split("│")[1].strip(): line for line in output.splitlines() if "│" in line}
    assert [cell.strip() for cell in rows["refill"].split("│")[2:5]] == ["0", "0", "1"]
    assert [cell.strip() for cell in rows["overage"].split("│")[2:5]] == ["1", "0", "0"]
    # the low-balance alert and the refill-failed alert, logged for want of a notify URL
    assert [cell.strip() for cell in rows["alerts"].split("│")[2:5]] == ["2", "0", "0"]
    assert "1 failed" in output
    assert dict(parse_qsl(meter.calls.last.request.content.decode()))["payload[value]"] == "100"
