"""A small stand-in for Stripe's v1 API behind respx, serving payloads from stripe_payloads.

It answers GETs the way Stripe does for the endpoints the adapter reads: objects by id, and
lists newest first with ``created[gte|lte]`` and equality filters, ``limit``/``starting_after``
pagination in Stripe's list envelope, and the two expansions the adapter asks for. Unknown ids
get Stripe's ``resource_missing`` error body. Every request is recorded for assertions.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import respx

from adapters.stripe.cursor import STREAMS
from tests.stripe.stripe_payloads import Json, error_body, list_envelope

BASE = "https://api.stripe.com"
NOW = datetime(2026, 1, 10, tzinfo=UTC)
API_KEY = "sk_test_51Qx0000000000000000000000"


def completed_cursor(since: int) -> dict[str, Any]:
    """A source cursor whose every stream, the Events API included, is done up to ``since``."""
    return {"version": 1, "since": dict.fromkeys(STREAMS, since)}


LIST_PATHS = frozenset(
    {
        "/v1/invoices",
        "/v1/checkout/sessions",
        "/v1/credit_notes",
        "/v1/refunds",
        "/v1/disputes",
        "/v1/events",
        "/v1/invoice_payments",
    }
)

# list filters the adapter uses and where each looks in an object
_EQUALITY = {
    "status": ("status",),
    "charge": ("charge",),
    "invoice": ("invoice",),
    "payment_intent": ("payment_intent",),
    "payment[payment_intent]": ("payment", "payment_intent"),
    "payment[type]": ("payment", "type"),
}


def _field(obj: Json, path: tuple[str, ...]) -> Any:
    value: Any = obj
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value.get("id") if isinstance(value, dict) else value


class FakeStripe:
    def __init__(self, router: respx.MockRouter) -> None:
        self.objects: dict[str, Json] = {}
        self.lists: dict[str, list[Json]] = defaultdict(list)
        self.requests: list[httpx.Request] = []
        self.interceptors: list[Callable[[httpx.Request, int], httpx.Response | None]] = []
        router.route(host="api.stripe.com", method="GET").mock(side_effect=self._get)

    # -- filling the account --------------------------------------------------------------------

    def add(self, path: str, obj: Json) -> Json:
        """Make ``obj`` listable at ``path`` and retrievable at ``path/id``."""
        self.lists[path].append(obj)
        self.objects[f"{path}/{obj['id']}"] = obj
        return obj

    def add_invoice(self, invoice: Json, all_lines: list[Json] | None = None) -> Json:
        """An invoice, its full line list (for when the embedded one is cut short)."""
        self.add("/v1/invoices", invoice)
        for line in all_lines if all_lines is not None else invoice["lines"]["data"]:
            self.add(f"/v1/invoices/{invoice['id']}/lines", line)
        return invoice

    def add_credit_note(self, note: Json) -> Json:
        self.add("/v1/credit_notes", note)
        for line in note["lines"]["data"]:
            self.add(f"/v1/credit_notes/{note['id']}/lines", line)
        return note

    def add_session(self, session: Json, items: list[Json]) -> Json:
        self.add("/v1/checkout/sessions", session)
        for item in items:
            self.add(f"/v1/checkout/sessions/{session['id']}/line_items", item)
        return session

    def put(self, path: str, obj: Json) -> Json:
        self.objects[path] = obj
        return obj

    def gets(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    # -- answering ------------------------------------------------------------------------------

    def _get(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for intercept in self.interceptors:
            answer = intercept(request, len(self.requests))
            if answer is not None:
                return answer
        path = request.url.path
        if self._is_list(path) and path not in self.objects:
            return httpx.Response(200, json=self._list(path, request.url.params))
        if path in self.objects:
            return httpx.Response(200, json=self._expand(self.objects[path], request, top=True))
        missing = path.rsplit("/", 1)[-1]
        body = error_body(
            f"No such object: '{missing}'",
            code="resource_missing",
            param="id",
            doc_url="https://stripe.com/docs/error-codes/resource-missing",
        )
        return httpx.Response(404, json=body)

    def _is_list(self, path: str) -> bool:
        return path in LIST_PATHS or path.endswith(("/lines", "/line_items")) or path in self.lists

    def _list(self, path: str, params: httpx.QueryParams) -> Json:
        found = list(self.lists.get(path, []))
        if all("created" in obj for obj in found):  # newest first; sub-lists keep their order
            ranked = sorted(enumerate(found), key=lambda pair: (-pair[1]["created"], -pair[0]))
            found = [obj for _, obj in ranked]
        if "created[gte]" in params:
            found = [o for o in found if o["created"] >= int(params["created[gte]"])]
        if "created[lte]" in params:
            found = [o for o in found if o["created"] <= int(params["created[lte]"])]
        for name, where in _EQUALITY.items():
            if name in params:
                found = [o for o in found if _field(o, where) == params[name]]
        types = {v for k, v in params.multi_items() if k.startswith("types[")}
        if types:
            found = [o for o in found if o["type"] in types]
        if "starting_after" in params:
            ids = [o["id"] for o in found]
            found = found[ids.index(params["starting_after"]) + 1 :]
        limit = int(params.get("limit", "10"))
        page = [self._expand(o, None, top=False, params=params) for o in found[:limit]]
        return list_envelope(page, url=path, has_more=len(found) > limit)

    def _expand(
        self,
        obj: Json,
        request: httpx.Request | None,
        *,
        top: bool,
        params: httpx.QueryParams | None = None,
    ) -> Json:
        query = params if params is not None else request.url.params if request else None
        expand = {v for k, v in (query.multi_items() if query else []) if k.startswith("expand[")}
        prefix = "" if top else "data."
        obj = json.loads(json.dumps(obj))
        if f"{prefix}invoice" in expand and isinstance(obj.get("invoice"), str):
            obj["invoice"] = self.objects[f"/v1/invoices/{obj['invoice']}"]
        if f"{prefix}line_items" in expand and obj.get("object") == "checkout.session":
            items = self.lists.get(f"/v1/checkout/sessions/{obj['id']}/line_items", [])
            obj["line_items"] = list_envelope(
                items[:10],
                url=f"/v1/checkout/sessions/{obj['id']}/line_items",
                has_more=len(items) > 10,
            )
        return obj
