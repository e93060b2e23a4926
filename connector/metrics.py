"""Prometheus metrics, served at /metrics. Counters live here so every layer can count."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BURNS = Counter("creditsync_burns_total", "Burns by outcome", ["outcome"])
CREDITS_BURNED = Counter("creditsync_credits_burned_total", "Credits burned")
GRANTS = Counter("creditsync_grants_total", "Pools granted", ["kind"])
WEBHOOKS = Counter(
    "creditsync_webhooks_total",
    "Webhook deliveries by connection and outcome",
    ["connection", "outcome"],
)
SYNC_DURATION = Histogram(
    "creditsync_sync_duration_seconds", "Sync run duration", ["connection", "status"]
)
SYNC_EVENTS = Counter(
    "creditsync_sync_events_total",
    "Canonical events applied by sync runs",
    ["connection", "kind", "outcome"],
)
OUTBOX_DEPTH = Gauge("creditsync_outbox_pending", "Journal entries waiting to be posted", ["sink"])
