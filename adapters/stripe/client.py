"""The one place a StripeClient is built, and the thin request layer every component shares.

Requests go through ``StripeClient.raw_request``: the SDK still signs them with the key, pins
the API version, encodes parameters and maps error bodies to its exception classes, but answers
stay the plain JSON Stripe sent. Building typed ``StripeObject`` trees first makes a sync of paid
invoices about ten times slower (bench/sync_stripe.py prints both), and the parsers read plain
mappings anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

import stripe

from adapters.stripe.parse import API_VERSION
from adapters.stripe.retry import RetryPolicy, StripeRequestFailed, call_with_retry
from connector.errors import CreditsyncError
from connector.platform.retry import Failure

Json = dict[str, Any]
PAGE_LIMIT = 100  # Stripe's maximum page size


class UnsupportedStripeVersion(CreditsyncError):
    """The installed SDK pins an API version the parsers were not written for."""

    code = "unsupported_stripe_version"


def require_pinned_api_version(pinned: str | None = None) -> None:
    """Refuse to build a Stripe component on an SDK that pins another API version.

    The SDK sends its pinned version with every request, so an upgrade of the package alone
    would change every shape the parsers read; this turns that into one clear line at start-up.
    """
    pinned = stripe.api_version if pinned is None else pinned
    if pinned != API_VERSION:
        raise UnsupportedStripeVersion(
            f"the installed stripe package {stripe.VERSION} pins Stripe API version {pinned}, "
            f"but creditsync reads {API_VERSION}: install stripe>=16.1,<17"
        )


def build_client(api_key: str) -> stripe.StripeClient:
    """A client on httpx (so respx can stand in for Stripe) with the SDK's own retries off."""
    return stripe.StripeClient(
        api_key,
        http_client=stripe.HTTPXClient(allow_sync_methods=True),
        max_network_retries=0,
    )


class StripeApi:
    """GET, POST and list pages against Stripe's v1 API, each under the retry policy."""

    def __init__(self, client: stripe.StripeClient, retry: RetryPolicy) -> None:
        require_pinned_api_version()
        # raw_request is untyped in the SDK; this is its real shape.
        self._raw = cast(Callable[..., stripe.StripeResponse], client.raw_request)
        self._retry = retry

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Json:
        def request() -> stripe.StripeResponse:
            return self._raw("get", path, **dict(params or {}))

        return _body("get", path, call_with_retry(self._retry, "get", path, request))

    def post(self, path: str, params: Mapping[str, Any], *, idempotency_key: str) -> Json:
        """A write; the key makes a repeated attempt (ours or a rerun's) a no-op at Stripe."""
        if not idempotency_key:
            raise ValueError("every POST to Stripe needs an idempotency key")

        def request() -> stripe.StripeResponse:
            return self._raw("post", path, idempotency_key=idempotency_key, **dict(params))

        return _body("post", path, call_with_retry(self._retry, "post", path, request))

    def page(
        self, path: str, params: Mapping[str, Any], starting_after: str | None = None
    ) -> tuple[list[Json], bool]:
        """One page of a list endpoint, newest first: its objects and whether more follow."""
        query = {**params, "limit": PAGE_LIMIT}
        if starting_after:
            query["starting_after"] = starting_after
        body = self.get(path, query)
        return list(body.get("data") or []), bool(body.get("has_more"))

    def iterate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Json]:
        """Every object of a list endpoint, page after page."""
        starting_after: str | None = None
        while True:
            data, has_more = self.page(path, params or {}, starting_after)
            yield from data
            if not has_more or not data:
                return
            starting_after = str(data[-1]["id"])

    def complete_list(self, sublist: Mapping[str, Any] | None, path: str) -> list[Json]:
        """The items of an embedded list, reading the rest from ``path`` when it was cut short."""
        if sublist is None:
            return list(self.iterate(path))
        items = list(sublist.get("data") or [])
        if sublist.get("has_more") and items:
            starting_after: str | None = str(items[-1]["id"])
            while starting_after:
                data, has_more = self.page(path, {}, starting_after)
                items.extend(data)
                starting_after = str(data[-1]["id"]) if has_more and data else None
        return items


def _body(method: str, path: str, response: stripe.StripeResponse) -> Json:
    data = response.data
    if not isinstance(data, dict):
        raise StripeRequestFailed(
            platform="Stripe",
            method=method,
            path=path,
            failure=Failure(
                retryable=False,
                status=response.code,
                message=f"the answer is not a JSON object: {response.body[:200]!r}",
            ),
            attempts=1,
        )
    return cast(Json, data)
