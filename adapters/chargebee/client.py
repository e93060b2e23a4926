"""The one place a Chargebee client is built, and the thin request layer every component shares.

Reads go through the SDK's request layer (``chargebee.http_request.request``): it authenticates
with the API key, serializes filters the way its typed resources do (``updated_at[after]``,
``sort_by[asc]``), and maps error bodies to its exception classes, but answers stay the plain
JSON Chargebee sent, which is what the parsers read. The typed resources (``cb.Invoice.list``)
hydrate every nested model of every object first, about 3 ms an invoice: enough to make
processing, not Chargebee's rate limit, the bottleneck (bench/sync_chargebee.py prints both).
Writes, few and small, use the typed resources. Every call runs under the core retry policy
(:mod:`.retry`); the SDK's own retries stay off.

``base_url`` points the SDK elsewhere (a sandbox proxy, a local stand-in). For a plain-http
origin the SDK still speaks https while the *class* attribute ``Chargebee.verify_ca_certs`` is
true (``protocol="http"`` only changes the instance's copy), so it is turned off; https
connections are then verified by httpx's default trust store instead of the bundled one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chargebee import Chargebee, http_request, request, util
from chargebee.retry_config import RetryConfig

from adapters.chargebee.retry import RetryPolicy, call_with_retry
from adapters.chargebee.settings import ChargebeeSettings
from connector.platform.paging import FetchPage, every_item

Json = dict[str, Any]
PAGE_LIMIT = 100  # Chargebee's maximum page size
LINE_ITEMS_LIMIT = 300  # line items per retrieve when an invoice's lines were cut short
IDEMPOTENCY_HEADER = Chargebee.idempotency_header
MAX_IDEMPOTENCY_KEY = 100

# listing -> the field of each list entry (and of a retrieve answer) that holds the object
RESOURCES: dict[str, str] = {
    "invoices": "invoice",
    "credit_notes": "credit_note",
    "transactions": "transaction",
    "disputes": "dispute",
    "events": "event",
    "subscriptions": "subscription",
    "customers": "customer",
    "item_prices": "item_price",
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

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Json:
        """GET ``path`` (under /api/v2) and return the JSON answer as Chargebee sent it."""
        query = util.serialize(request.lowercase_keys(dict(params or {})))
        env = self._client.env

        def send() -> Any:
            return http_request.request("get", path, env, query, {})

        body, _headers, _status = self.call("get", path, send)
        answer: Json = body
        return answer

    def page(
        self, listing: str, params: Mapping[str, Any], offset: str | None = None
    ) -> tuple[list[Json], str | None]:
        """One page of a listing: its objects and the offset of the next page (None: last)."""
        query: dict[str, Any] = {**params, "limit": PAGE_LIMIT}
        if offset:
            query["offset"] = offset
        body = self.get(f"/{listing}", query)
        field = RESOURCES[listing]
        objects = [entry[field] for entry in body.get("list") or ()]
        return objects, body.get("next_offset") or None

    def retrieve(
        self, listing: str, object_id: str, params: Mapping[str, Any] | None = None
    ) -> Json:
        body = self.get(request.uri_path(listing, object_id), params)
        found: Json = body[RESOURCES[listing]]
        return found

    def pages_of(self, listing: str, params: Mapping[str, Any]) -> FetchPage[Json]:
        """The page reader of a listing, for :mod:`connector.platform.paging`."""
        return lambda offset: self.page(listing, params, offset)

    def complete_lines(self, listing: str, document: Json) -> list[Json]:
        """Every line item of an invoice or credit note, following ``line_items_next_offset``."""

        def fetch(offset: str | None) -> tuple[list[Json], str | None]:
            page = document
            if offset is not None:
                params = {"line_items_limit": LINE_ITEMS_LIMIT, "line_items_offset": offset}
                page = self.retrieve(listing, str(document["id"]), params)
            return list(page.get("line_items") or []), page.get("line_items_next_offset")

        return list(every_item(fetch))

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


def api_for(
    settings: ChargebeeSettings, client: Chargebee | None, retry: RetryPolicy | None
) -> ChargebeeApi:
    """The request layer of a component: its own client and policy, or the settings' ones."""
    return ChargebeeApi(
        client or build_client(settings), retry or RetryPolicy(max_attempts=settings.max_attempts)
    )
