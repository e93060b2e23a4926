"""When to call Stripe again, and how long to wait first: the core retry loop, read for Stripe.

Stripe asks clients to back off on 429 and to retry 5xx and 409 (lock contention); its
``Stripe-Should-Retry`` header overrides that guess either way, and ``Retry-After`` (when sent)
is the wait it wants. Every other 4xx is a request that will never succeed, so it fails at once
with Stripe's own message. Writes are safe to repeat because each carries an idempotency key.
The SDK's own retries are turned off so that this is the only policy in force.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import stripe

from connector.platform.retry import (
    Failure,
    PlatformRequestFailed,
    RetryPolicy,
    header,
    retryable_status,
    seconds_to_wait,
)
from connector.platform.retry import call_with_retry as _call_with_retry

T = TypeVar("T")


class StripeRequestFailed(PlatformRequestFailed):
    """Stripe refused a request, or kept failing it until the attempts ran out."""

    code = "stripe_error"

    @property
    def stripe_code(self) -> str | None:
        return self.platform_code

    @property
    def stripe_message(self) -> str:
        return self.platform_message


def classify(exc: BaseException) -> Failure | None:
    """Read a Stripe SDK error; None for anything that is not one."""
    if isinstance(exc, stripe.APIConnectionError):
        return Failure(retryable=True, message=exc.user_message or type(exc).__name__)
    if not isinstance(exc, stripe.StripeError):
        return None
    advice = header(exc.headers, "Stripe-Should-Retry")
    status = exc.http_status
    retryable = advice == "true" or (advice != "false" and retryable_status(status or 0))
    error = exc.error
    return Failure(
        retryable=retryable,
        status=status,
        code=exc.code or (error.code if error is not None else None),
        message=exc.user_message or type(exc).__name__,
        wait=seconds_to_wait(header(exc.headers, "Retry-After")),
    )


def is_retryable(exc: BaseException) -> bool:
    failure = classify(exc)
    return failure is not None and failure.retryable


def call_with_retry(policy: RetryPolicy, method: str, path: str, request: Callable[[], T]) -> T:
    """Run ``request`` under ``policy``; turn a final Stripe error into StripeRequestFailed."""
    return _call_with_retry(
        policy,
        classify,
        platform="Stripe",
        method=method,
        path=path,
        request=request,
        failed=StripeRequestFailed,
    )


__all__ = ["RetryPolicy", "StripeRequestFailed", "call_with_retry", "classify", "is_retryable"]
