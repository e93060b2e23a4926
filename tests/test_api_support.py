"""Shared builders for the HTTP API tests (this module holds no tests itself).

Settings point at the test database (the ``db_url`` fixture), the example mappings, a Stripe
connection with a webhook secret, a files connection and one token per scope. The signed Stripe
deliveries come from bench/webhooks.py, so the tests and the benchmark send the same requests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import SecretStr

from bench.webhooks import signed_delivery, stripe_event, stripe_invoice
from connector.api import create_app
from connector.api.drain import Drainer
from connector.events import SourceKey
from connector.ledger.models import GrantRequest, PoolKind
from connector.runtime import Runtime
from connector.settings import EXAMPLE_MAPPINGS, ApiToken, Connection, Schedule, Settings
from connector.sync import inbox

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STRIPE_SECRET = "whsec_test_4eC39HqLyjWDarjtT1zdp7dc"
TOKENS: dict[str, str] = {
    "burn": "tok_burn_2f9c1d7e4b",
    "read": "tok_read_8a3e5b1c0d",
    "admin": "tok_admin_6d2f9e4a7c8b1e3f5a90",
}
BUNDLE_PRICE = "price_1QpX7rLkd8Hs2mFa0bN7Tq4e"  # mappings/examples/stripe.toml: 10k + 2k bonus


def make_settings(db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "mapping_paths": [EXAMPLE_MAPPINGS],
        "output_dir": tmp_path / "out",
        "api_tokens": [
            ApiToken(token=SecretStr(token), scopes=[scope], name=scope)
            for scope, token in TOKENS.items()
        ],
        "connections": {
            "stripe": Connection(platform="stripe", settings={"webhook_secrets": [STRIPE_SECRET]}),
            "files": Connection(
                platform="files", settings={"path": str(tmp_path / "events.jsonl")}
            ),
        },
        "schedule": Schedule(enabled=False),
    }
    values.update(overrides)
    return Settings(**values)


def make_runtime(db_url: str, tmp_path: Path, **overrides: Any) -> Runtime:
    return Runtime.from_settings(make_settings(db_url, tmp_path, **overrides))


def quick_drainer(runtime: Runtime) -> Drainer:
    """Apply webhooks right after the answer, without the batching pause the server uses."""
    return Drainer(lambda c, limit: inbox.process_pending(runtime, c, limit), gather=0, share=1)


@contextmanager
def client_for(runtime: Runtime, app: FastAPI | None = None) -> Iterator[TestClient]:
    app = app or create_app(runtime)
    app.state.drainer = quick_drainer(runtime)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def auth(scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[scope]}"}


def seed(
    runtime: Runtime,
    account: str = "acme",
    credits: int = 1000,
    *,
    rate: str = "1",
    object_id: str | None = None,
    kind: PoolKind = PoolKind.PAID,
    expires_at: datetime | None = None,
) -> None:
    """A burn rate for ``query`` and one pool of ``credits`` for ``account``."""
    if not runtime.ledger.rates():
        runtime.ledger.set_rate("query", rate, T0 - timedelta(days=1))
    runtime.ledger.grant(
        GrantRequest(
            account_id=account,
            kind=kind,
            credits=credits,
            revenue_amount=0 if kind is PoolKind.PROMOTIONAL else credits * 10,
            currency="USD",
            effective_at=T0,
            expires_at=expires_at,
            source=SourceKey(platform="test", object_id=object_id or f"inv_{account}", line_id="1"),
        )
    )


def invoice_paid(
    event_id: str,
    invoice_id: str,
    customer: str,
    *,
    price: str = BUNDLE_PRICE,
    amount: int = 10_000,
    secret: str = STRIPE_SECRET,
    signed_at: datetime | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A signed ``invoice.paid`` delivery, as Stripe would send it now."""
    at = int((signed_at or datetime.now(UTC)).timestamp())
    invoice = stripe_invoice(invoice_id, customer, price=price, amount=amount, paid_at=at - 30)
    return signed_delivery(stripe_event(event_id, "invoice.paid", invoice, at - 30), secret, at)


def signed(event: dict[str, Any], secret: str = STRIPE_SECRET) -> tuple[bytes, dict[str, str]]:
    return signed_delivery(event, secret, int(datetime.now(UTC).timestamp()))


def sample(name: str, **labels: str) -> float:
    """A metric's current value (0 when it has not been touched)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def purchase_line(
    object_id: str,
    item_id: str,
    customer: str = "cus_files",
    *,
    net: int = 1000,
    occurred_at: str = "2026-10-05T12:00:00Z",
) -> str:
    return json.dumps(
        {
            "kind": "purchase",
            "object_id": object_id,
            "line_id": "1",
            "occurred_at": occurred_at,
            "currency": "USD",
            "customer": {"external_id": customer, "email": f"{customer}@example.com"},
            "item_id": item_id,
            "quantity": 1,
            "net_amount": net,
            "tax_amount": 0,
        }
    )
