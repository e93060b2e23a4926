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
SCHEDULER_LEADER = Gauge(
    "creditsync_scheduler_leader", "1 while this process holds the scheduler lease and runs jobs"
)
SCHEDULER_JOBS = Counter(
    "creditsync_scheduler_jobs_total",
    "Scheduled job runs by outcome (succeeded, failed, follower: skipped, not the leader)",
    ["job", "outcome"],
)
SCHEDULER_JOB_DURATION = Histogram(
    "creditsync_scheduler_job_duration_seconds", "Duration of scheduled job runs", ["job"]
)
POLICY_ALERTS = Counter(
    "creditsync_policy_alerts_total",
    "Low-balance alerts handled by the alerts job, by kind and outcome "
    "(delivered, logged: no notify URL, retry, failed)",
    ["kind", "outcome"],
)
POLICY_REFILLS = Counter(
    "creditsync_policy_refills_total",
    "Auto-refill charges by platform and outcome (charged, retry, failed)",
    ["platform", "outcome"],
)
POLICY_OVERAGE = Counter(
    "creditsync_policy_overage_total",
    "Overage reports to usage billing by platform and outcome (reported, retry, failed)",
    ["platform", "outcome"],
)
POLICY_OVERAGE_CREDITS = Counter(
    "creditsync_policy_overage_credits_total",
    "Overage credits reported to a platform for billing as usage",
    ["platform"],
)
POLICY_PENDING = Gauge(
    "creditsync_policy_pending",
    "Policy records waiting for their job (alerts, refills, overage)",
    ["record"],
)
