"""The one place a Chargebee client is built, and the thin request layer every component shares.

Calls go through the SDK's typed resources (``cb.Invoice.list`` ...): it authenticates with the
API key, serializes filters (``updated_at[after]``, ``sort_by[asc]``), maps error bodies to its
exception classes, and keeps each object's JSON as ``raw_data``, which is what the parsers read.
Each call runs under the core retry policy (:mod:`.retry`); the SDK's own retries stay off.

``base_url`` points the SDK elsewhere (a sandbox proxy, a local stand-in). For a plain-http
origin the SDK still speaks https while the *class* attribute ``Chargebee.verify_ca_certs`` is
true (``protocol="http"`` only changes the instance's copy), so it is turned off; https
connections are then verified by httpx's default trust store instead of the bundled one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chargebee import Chargebee
from chargebee.retry_config import RetryConfig

from adapters.chargebee.retry import RetryPolicy, call_with_retry
from adapters.chargebee.settings import ChargebeeSettings

Json = dict[str, Any]
PAGE_LIMIT = 100  # Chargebee's maximum page size
LINE_ITEMS_LIMIT = 300  # line items per retrieve when an invoice's lines were cut short
IDEMPOTENCY_HEADER = Chargebee.idempotency_header
MAX_IDEMPOTENCY_KEY = 100

# listing -> (SDK resource, the field of each list entry that holds the object)
RESOURCES: dict[str, tuple[str, str]] = {
    "invoices": ("Invoice", "invoice"),
    "credit_notes": ("CreditNote", "credit_note"),
    "transactions": ("Transaction", "transaction"),
    "disputes": ("Dispute", "dispute"),
    "events": ("Event", "event"),
    "subscriptions": ("Subscription", "subscription"),
    "customers": ("Customer", "customer"),
    "item_prices": ("ItemPrice", "item_price"),
}


def build_client(settings: ChargebeeSettings) -> Chargebee:
    """A client for the configured site (or ``base_url``) with the SDK's retries off."""
    settings.require("api_key", "calls to the Chargebee API")
    if settings.base_url is None:
        settings.require("site", "calls to the Chargebee API")
    assert settings.api_key is not None
    client = Chargebee(api_key=settings.api_key.get_secret_value(), site=settings.site or "local")
    client.update_retry_config(RetryConfig(enabled=False))
    if settings.base_url is not None:
        scheme = settings.base_url.split("://", 1)[0]
        client.update_protocol(scheme)
        client.env.api_endpoint = f"{settings.base_url}/api/{client.env.API_VERSION}"
        if scheme == "http":
            Chargebee.verify_ca_certs = False
    return client


class ChargebeeApi:
    """List pages, retrieve and write against Chargebee's API v2, each under the retry policy."""

    def __init__(self, client: Chargebee, retry: RetryPolicy) -> None:
        self._client = client
        self._retry = retry

    def call(self, method: str, path: str, request: Callable[[], Any]) -> Any:
        return call_with_retry(self._retry, method, path, request)

    def _resource(self, listing: str) -> tuple[Any, str]:
        name, field = RESOURCES[listing]
        return getattr(self._client, name), field

    def page(
        self, listing: str, params: Mapping[str, Any], offset: str | None = None
    ) -> tuple[list[Json], str | None]:
        """One page of a listing: its objects (plain JSON) and the offset of the next page."""
        resource, field = self._resource(listing)
        query: dict[str, Any] = {**params, "limit": PAGE_LIMIT}
        if offset:
            query["offset"] = offset
        answer = self.call("get", f"/{listing}", lambda: resource.list(query))
        objects = [getattr(entry, field).raw_data for entry in answer.list]
        return objects, answer.next_offset or None

    def retrieve(
        self, listing: str, object_id: str, params: Mapping[str, Any] | None = None
    ) -> Json:
        resource, field = self._resource(listing)

        def request() -> Any:
            if params:
                return resource.retrieve(object_id, dict(params))
            return resource.retrieve(object_id)

        answer = self.call("get", f"/{listing}/{object_id}", request)
        found: Json = getattr(answer, field).raw_data
        return found

    def complete_lines(self, listing: str, document: Json) -> list[Json]:
        """Every line item of an invoice or credit note, following ``line_items_next_offset``."""
        lines = list(document.get("line_items") or [])
        offset = document.get("line_items_next_offset")
        while offset:
            more = self.retrieve(
                listing,
                str(document["id"]),
                {"line_items_limit": LINE_ITEMS_LIMIT, "line_items_offset": offset},
            )
            lines.extend(more.get("line_items") or [])
            next_offset = more.get("line_items_next_offset")
            offset = next_offset if next_offset != offset else None
        return lines

    def post(
        self, path: str, request: Callable[[dict[str, str]], Any], *, idempotency_key: str
    ) -> Any:
        """A write with Chargebee's idempotency header; ``request`` gets the headers to send."""
        if not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
            raise ValueError("a Chargebee idempotency key has 1 to 100 characters")
        headers = {IDEMPOTENCY_HEADER: idempotency_key}
        return self.call("post", path, lambda: request(dict(headers)))

    @property
    def sdk(self) -> Chargebee:
        return self._client
