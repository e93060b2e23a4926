"""When to call Stripe again, and how long to wait first.

Stripe asks clients to back off on 429 and to retry 5xx and 409 (lock contention); its
``Stripe-Should-Retry`` header overrides that guess either way, and ``Retry-After`` (when sent)
is the wait it wants. Every other 4xx is a request that will never succeed, so it fails at once
with Stripe's own message. Writes are safe to repeat because each carries an idempotency key.
The SDK's own retries are turned off so that this is the only policy in force.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import stripe
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from connector.errors import CreditsyncError

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter; ``sleep`` is injectable so tests never wait."""

    max_attempts: int = 6
    base_wait: float = 0.5
    max_wait: float = 30.0
    jitter: float = 0.5
    sleep: Callable[[float], None] = time.sleep


class StripeRequestFailed(CreditsyncError):
    """Stripe refused a request, or kept failing it until the attempts ran out."""

    code = "stripe_error"

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status: int | None,
        stripe_code: str | None,
        stripe_message: str,
        attempts: int,
        retryable: bool,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.stripe_code = stripe_code
        self.stripe_message = stripe_message
        self.attempts = attempts
        self.retryable = retryable
        answer = f"HTTP {status}" if status is not None else "no answer"
        code = f" ({stripe_code})" if stripe_code else ""
        if retryable:
            text = (
                f"Stripe {method.upper()} {path} still failing after {attempts} attempts "
                f"({answer}{code}): {stripe_message}"
            )
        else:
            text = f"Stripe refused {method.upper()} {path} ({answer}{code}): {stripe_message}"
        super().__init__(text)


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Read a response header whatever the case the transport gave it."""
    if not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, stripe.APIConnectionError):
        return True
    if not isinstance(exc, stripe.StripeError):
        return False
    advice = _header(exc.headers, "Stripe-Should-Retry")
    if advice == "false":
        return False
    if advice == "true":
        return True
    status = exc.http_status or 0
    return status in RETRYABLE_STATUSES or status >= 500


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds Stripe asked us to wait, if it said (delta-seconds form only)."""
    if not isinstance(exc, stripe.StripeError):
        return None
    value = _header(exc.headers, "Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class _StripeWait:
    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._backoff = wait_exponential_jitter(
            multiplier=policy.base_wait, max=policy.max_wait, jitter=policy.jitter
        )

    def __call__(self, state: RetryCallState) -> float:
        outcome = state.outcome
        asked = retry_after(outcome.exception() if outcome is not None else None)
        if asked is not None:
            return min(asked, self._policy.max_wait)
        return float(self._backoff(state))


def call_with_retry(policy: RetryPolicy, method: str, path: str, request: Callable[[], T]) -> T:
    """Run ``request`` under ``policy``; turn a final Stripe error into StripeRequestFailed."""
    attempts = 0

    def attempt() -> T:
        nonlocal attempts
        attempts += 1
        return request()

    retrying = Retrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=_StripeWait(policy),
        retry=retry_if_exception(is_retryable),
        sleep=policy.sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except stripe.StripeError as exc:
        error = exc.error
        raise StripeRequestFailed(
            method=method,
            path=path,
            status=exc.http_status,
            stripe_code=exc.code or (error.code if error is not None else None),
            stripe_message=exc.user_message or type(exc).__name__,
            attempts=attempts,
            retryable=is_retryable(exc),
        ) from exc
