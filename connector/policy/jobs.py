"""The policy's jobs: charge pending refills, report pending overage, deliver pending alerts.

Each is a plain callable taking a Runtime and holding a lease of its own (a run still going here
or elsewhere makes the next start a skip). A platform call happens outside any transaction; its
outcome is settled right after. Every call carries a key derived from the record, so a call
repeated after a crash converges on what the first one did at the platform.

A failure the platform says is final (a declined card, a bad request, a misconfigured
connection) fails the record at once with the platform's message; any other failure leaves it
pending for the next run, until ``max_attempts`` runs have tried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, TypeVar

import httpx
from sqlalchemy import select

from connector import metrics
from connector.errors import Conflict, CreditsyncError, InvalidInput, NotFound
from connector.ledger import accounts
from connector.policy import store
from connector.policy.hook import record_alert
from connector.policy.model import (
    AlertKind,
    AlertStatus,
    OverageStatus,
    Refill,
    RefillStatus,
    overage_key,
    refill_failed_key,
)
from connector.policy.notify import TIMEOUT, DeliveryFailed, deliver
from connector.policy.tables import balance_alerts, overage_reports, refill_requests
from connector.ports import Charger, OverageUsage, RefillRequest, UsageSink
from connector.runtime import Runtime
from connector.store.tables import accounts as accounts_table
from connector.sync.jobs import exclusive
from connector.timeutil import utcnow

log = logging.getLogger("creditsync.policy")

MAX_ATTEMPTS = 5  # runs that may try one refill or overage report before it is failed
ALERT_RETRY_WINDOW = timedelta(days=1)  # an alert the notify URL refuses this long is failed

T = TypeVar("T")


@dataclass
class PassSummary:
    """What one run of a job did with the records that were pending when it began."""

    job: str
    done: int = 0  # charged, reported or delivered
    retry: int = 0  # still pending, tried again next run
    failed: int = 0

    @property
    def seen(self) -> int:
        return self.done + self.retry + self.failed

    def count(self, outcome: str) -> None:
        """Tally one record: "retry" and "failed" as such, any other outcome as done."""
        if outcome == "retry":
            self.retry += 1
        elif outcome == "failed":
            self.failed += 1
        else:
            self.done += 1


def retryable(exc: BaseException) -> bool:
    """Whether trying again can succeed: adapters say so on their errors (``retryable``)."""
    if isinstance(exc, InvalidInput | NotFound | Conflict):
        return False
    flag = getattr(exc, "retryable", None)
    return flag if isinstance(flag, bool) else True


def describe(exc: BaseException) -> str:
    return exc.message if isinstance(exc, CreditsyncError) else f"{type(exc).__name__}: {exc}"


class _Adapters(Generic[T]):
    """One charger / usage sink per connection for a run, or the error that building it gave
    (a connection missing a setting fails every record routed to it, with that message)."""

    def __init__(self, build: Callable[[str], T]) -> None:
        self._build = build
        self._built: dict[str, T | CreditsyncError] = {}

    def get(self, connection: str) -> T:
        if connection not in self._built:
            try:
                self._built[connection] = self._build(connection)
            except CreditsyncError as exc:
                self._built[connection] = exc
        found = self._built[connection]
        if isinstance(found, CreditsyncError):
            raise found
        return found


def _refill_threshold(runtime: Runtime, account_id: str) -> int:
    """The account's plan's refill threshold now, for the refill-failed alert (0 if none)."""
    with runtime.engine.connect() as conn:
        plan = conn.execute(
            select(accounts_table.c.plan).where(accounts_table.c.id == account_id)
        ).scalar_one_or_none()
    try:
        refill = runtime.mappings.current.plan(plan).low_balance.auto_refill
    except InvalidInput:
        return 0
    return refill.below if refill is not None else 0


def _charge_one(runtime: Runtime, refill: Refill, chargers: _Adapters[Charger]) -> str:
    connection = runtime.policy_routes.chargers.get(refill.platform)
    if connection is None:
        raise InvalidInput(
            "platform",
            f"no enabled connection can charge a refill on {refill.platform}",
            f'add a connection with platform = "{refill.platform}"',
        )
    with runtime.engine.connect() as conn:
        customer = accounts.external_id(conn, refill.account_id, refill.platform)
    if customer is None:
        raise InvalidInput(
            "account_id",
            f"account {refill.account_id!r} has no customer id on {refill.platform}",
            "link the account to its customer on that platform",
        )
    charger = chargers.get(connection)
    request = RefillRequest(
        key=refill.key,
        account_id=refill.account_id,
        external_customer_id=customer,
        item_id=refill.item_id,
        quantity=refill.quantity,
    )
    return charger.charge(request)


def charge_refills(runtime: Runtime, *, max_attempts: int = MAX_ATTEMPTS) -> PassSummary:
    """Charge every pending refill through its platform's Charger. The paid invoice comes back
    through the sync or a webhook as an ordinary purchase: nothing is granted here."""
    summary = PassSummary("refill")
    chargers: _Adapters[Charger] = _Adapters(runtime.charger)
    for refill in store.pending_refills(runtime.engine):
        outcome, external_id, error = "charged", None, None
        try:
            external_id = _charge_one(runtime, refill, chargers)
        except Exception as exc:
            error = describe(exc)
            final = not retryable(exc) or refill.attempts + 1 >= max_attempts
            outcome = "failed" if final else "retry"
            log.warning("refill %s: %s (%s)", refill.key, error, outcome)
        now = utcnow()
        status = {
            "charged": RefillStatus.CHARGED,
            "failed": RefillStatus.FAILED,
            "retry": RefillStatus.PENDING,
        }[outcome]
        threshold = _refill_threshold(runtime, refill.account_id) if outcome == "failed" else 0
        with runtime.engine.begin() as conn:
            settled = store.settle_refill(
                conn, refill.id, status, now, external_id=external_id, error=error
            )
            if settled and outcome == "failed":
                record_alert(
                    conn,
                    account_id=refill.account_id,
                    kind=AlertKind.REFILL_FAILED,
                    threshold=threshold,
                    balance=refill.balance,
                    key=refill_failed_key(refill.key),
                    burn_id=None,
                    now=now,
                )
        if not settled:
            continue
        metrics.POLICY_REFILLS.labels(refill.platform, outcome).inc()
        summary.count(outcome)
    _gauge(runtime)
    return summary


def report_overage(runtime: Runtime, *, max_attempts: int = MAX_ATTEMPTS) -> PassSummary:
    """Report every pending overage through its platform's UsageSink, keyed per burn."""
    summary = PassSummary("overage")
    sinks: _Adapters[UsageSink] = _Adapters(runtime.usage_sink)
    for overage in store.pending_overage(runtime.engine):
        platform = overage.platform or ""
        outcome, external_id, error = "reported", None, None
        try:
            connection = runtime.policy_routes.usage.get(platform)
            if connection is None:
                raise InvalidInput(
                    "platform",
                    f"no enabled connection bills usage on {platform or 'any platform'}",
                    f'add a connection with platform = "{platform}"',
                )
            with runtime.engine.connect() as conn:
                customer = accounts.external_id(conn, overage.account_id, platform)
            if customer is None:
                raise InvalidInput(
                    "account_id",
                    f"account {overage.account_id!r} has no customer id on {platform}",
                    "link the account to its customer on that platform",
                )
            sink = sinks.get(connection)
            usage = OverageUsage(
                key=overage_key(overage.burn_id),
                account_id=overage.account_id,
                external_customer_id=customer,
                credits=overage.credits,
                occurred_at=overage.occurred_at,
            )
            external_id = sink.report(usage)
        except Exception as exc:
            error = describe(exc)
            final = not retryable(exc) or overage.attempts + 1 >= max_attempts
            outcome = "failed" if final else "retry"
            log.warning("overage of burn %s: %s (%s)", overage.burn_id, error, outcome)
        status = {
            "reported": OverageStatus.REPORTED,
            "failed": OverageStatus.FAILED,
            "retry": OverageStatus.PENDING,
        }[outcome]
        with runtime.engine.begin() as conn:
            settled = store.settle_overage(
                conn, overage.burn_id, status, utcnow(), external_id=external_id, error=error
            )
        if not settled:
            continue
        metrics.POLICY_OVERAGE.labels(platform, outcome).inc()
        if outcome == "reported":
            metrics.POLICY_OVERAGE_CREDITS.labels(platform).inc(overage.credits)
        summary.count(outcome)
    _gauge(runtime)
    return summary


def deliver_alerts(
    runtime: Runtime, notify_url: str | None = None, *, client: httpx.Client | None = None
) -> PassSummary:
    """POST every pending alert to ``notify_url`` (without one: log it); an alert the URL keeps
    refusing stays pending for ALERT_RETRY_WINDOW after it was raised, then is failed."""
    summary = PassSummary("alerts")
    own = client is None and notify_url is not None
    http = httpx.Client(timeout=TIMEOUT) if own else client
    try:
        for alert in store.pending_alerts(runtime.engine):
            now = utcnow()
            status: AlertStatus | None
            try:
                deliver(alert, notify_url, http, secret=runtime.settings.notify_signing_secret)
                status, outcome = AlertStatus.DELIVERED, "delivered" if notify_url else "logged"
            except DeliveryFailed as exc:
                late = now - alert.created_at >= ALERT_RETRY_WINDOW
                status, outcome = (AlertStatus.FAILED, "failed") if late else (None, "retry")
                log.warning("alert %s not delivered: %s (%s)", alert.key, exc, outcome)
            if status is not None:
                with runtime.engine.begin() as conn:
                    if not store.settle_alert(conn, alert.id, status, now):
                        continue
            metrics.POLICY_ALERTS.labels(alert.kind, outcome).inc()
            summary.count(outcome)
    finally:
        if own and http is not None:
            http.close()
    _gauge(runtime)
    return summary


def _gauge(runtime: Runtime) -> None:
    for record, table in (
        ("alerts", balance_alerts),
        ("refills", refill_requests),
        ("overage", overage_reports),
    ):
        pending = store.counts(runtime.engine, table).get("pending", 0)
        metrics.POLICY_PENDING.labels(record).set(pending)


def refill_job(runtime: Runtime) -> PassSummary | None:
    return exclusive(runtime, "policy-refill", lambda: charge_refills(runtime))


def overage_job(runtime: Runtime) -> PassSummary | None:
    return exclusive(runtime, "policy-overage", lambda: report_overage(runtime))


def alerts_job(runtime: Runtime, notify_url: str | None = None) -> PassSummary | None:
    return exclusive(runtime, "policy-alerts", lambda: deliver_alerts(runtime, notify_url))


def run_policy(runtime: Runtime, notify_url: str | None = None) -> dict[str, PassSummary | None]:
    """The three jobs once, refills first (None: that job was running elsewhere)."""
    return {
        "refill": refill_job(runtime),
        "overage": overage_job(runtime),
        "alerts": alerts_job(runtime, notify_url),
    }
