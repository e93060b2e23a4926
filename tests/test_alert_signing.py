"""Outgoing low-balance alerts are signed, so the receiver can tell they came from creditsync.

The receiver's side is computed here from the documented recipe (HMAC-SHA256 of ``"<t>.<body>"``
keyed with the secret), not with creditsync's own helper, so a change to either is caught.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx
from pydantic import SecretStr

from connector.events import SourceKey
from connector.ledger import accounts
from connector.ledger.models import BurnRequest, GrantRequest, PoolKind
from connector.policy.jobs import alerts_job
from connector.policy.notify import SIGNATURE_HEADER, signature, verify_signature
from connector.runtime import Runtime
from connector.settings import masked
from connector.timeutil import utcnow
from tests.sync_helpers import runtime_for

URL = "https://hooks.example.com/credits"
SECRET = "alert_signing_secret_5c1f0e9a7b3d"
JAN = datetime(2026, 1, 10, 12, tzinfo=UTC)


def low_balance_runtime(db_url: str, tmp_path: Path, secret: str | None) -> Runtime:
    """An account on the standard plan (alert below 1000 credits) that just crossed it."""
    runtime = runtime_for(
        db_url,
        tmp_path,
        notify_signing_secret=SecretStr(secret) if secret else None,
    )
    runtime.ledger.set_rate("query", "1", JAN - timedelta(days=30))
    with runtime.engine.begin() as conn:
        accounts.ensure_account(conn, "acme")
        accounts.set_plan(conn, "acme", "standard")
    runtime.ledger.grant(
        GrantRequest(
            account_id="acme",
            kind=PoolKind.PAID,
            credits=1000,
            revenue_amount=1000,
            currency="USD",
            effective_at=JAN - timedelta(days=1),
            source=SourceKey(platform="stripe", object_id="in_1", line_id="il_1"),
        )
    )
    runtime.ledger.burn(
        BurnRequest(
            account_id="acme", idempotency_key="b1", action="query", units=10, occurred_at=JAN
        )
    )
    return runtime


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True) as mock:
        yield mock


def posted(router: respx.MockRouter, runtime: Runtime) -> httpx.Request:
    hook = router.post(URL).mock(return_value=httpx.Response(204))
    summary = alerts_job(runtime, URL)
    assert summary is not None and summary.done == 1
    request: httpx.Request = hook.calls.last.request
    return request


def test_an_alert_carries_a_signature_the_receiver_can_verify(
    db_url: str, tmp_path: Path, router: respx.MockRouter
) -> None:
    runtime = low_balance_runtime(db_url, tmp_path, SECRET)
    request = posted(router, runtime)
    header = request.headers[SIGNATURE_HEADER]
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(fields["t"])
    assert abs(timestamp - utcnow().timestamp()) < 60
    expected = hmac.new(
        SECRET.encode(), f"{timestamp}.".encode() + request.content, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
    assert json.loads(request.content)["account_id"] == "acme"
    assert request.headers["Content-Type"] == "application/json"
    assert verify_signature(header, request.content, SECRET, utcnow())
    runtime.engine.dispose()


def test_without_a_secret_alerts_are_not_signed(
    db_url: str, tmp_path: Path, router: respx.MockRouter
) -> None:
    runtime = low_balance_runtime(db_url, tmp_path, None)
    request = posted(router, runtime)
    assert SIGNATURE_HEADER not in request.headers
    runtime.engine.dispose()


def test_the_signature_fails_for_another_body_secret_or_a_late_replay() -> None:
    body = b'{"type":"creditsync.low_balance"}'
    sent_at = datetime(2026, 1, 10, 12, tzinfo=UTC)
    header = signature(SECRET, body, sent_at)
    assert verify_signature(header, body, SECRET, sent_at + timedelta(seconds=299))
    assert not verify_signature(header, body + b" ", SECRET, sent_at)
    assert not verify_signature(header, body, "another_secret", sent_at)
    assert not verify_signature(header, body, SECRET, sent_at + timedelta(seconds=301))
    assert not verify_signature("v1=abc", body, SECRET, sent_at)
    assert not verify_signature("t=soon,v1=abc", body, SECRET, sent_at)


def test_the_signing_secret_is_masked_in_the_settings(db_url: str, tmp_path: Path) -> None:
    runtime = runtime_for(db_url, tmp_path, notify_signing_secret=SecretStr(SECRET))
    assert SECRET not in json.dumps(masked(runtime.settings))
    runtime.engine.dispose()
