"""A small in-memory stand-in for Chargebee's API v2 behind respx, serving chargebee_payloads.

It answers what the adapter asks: lists with ``limit``/``offset`` pagination (opaque offsets),
the filters ``[is]``, ``[after]``, ``[before]`` on any field and ``sort_by[asc|desc]``, in
Chargebee's list envelope; objects by id, with ``line_items_limit``/``line_items_offset`` for
invoices and credit notes whose lines were cut short; refill invoices created with an
idempotency key (a replay answers the first result, flagged) and usages deduplicated by id.
Unknown ids get Chargebee's ``resource_not_found`` body. Every request is recorded.
"""

from __future__ import annotations

import ast
import copy
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import httpx
import respx

import tests.chargebee.chargebee_payloads as p

SITE = "acme"
HOST = f"{SITE}.chargebee.com"
BASE = f"https://{HOST}/api/v2"
API_KEY = "test_cbK3yF0rT3sts0nly"
NOW = datetime(2026, 1, 10, tzinfo=UTC)

Json = p.Json
Interceptor = Callable[[httpx.Request, int], httpx.Response | None]

# listing -> the key of each list entry
WRAPPERS = {
    "invoices": "invoice",
    "credit_notes": "credit_note",
    "transactions": "transaction",
    "disputes": "dispute",
    "events": "event",
    "customers": "customer",
    "subscriptions": "subscription",
    "item_prices": "item_price",
    "usages": "usage",
}


def _matches(obj: Json, name: str, op: str, value: str) -> bool:
    if name == "item_price_id" and "subscription_items" in obj:  # a subscription's items
        return op == "is" and value in {i["item_price_id"] for i in obj["subscription_items"]}
    field = obj.get(name)
    if op == "is":
        return str(field) == value
    if op == "in":  # the SDK sends a list as its Python text: "['a', 'b']"
        return str(field) in ast.literal_eval(value)
    if field is None:
        return False
    if op == "after":
        return int(field) > int(value)
    if op == "before":
        return int(field) < int(value)
    raise AssertionError(f"the fake does not filter with [{op}]")


class FakeChargebee:
    def __init__(self, router: respx.MockRouter, host: str = HOST) -> None:
        self.objects: dict[str, dict[str, Json]] = defaultdict(dict)
        self.full_lines: dict[tuple[str, str], list[Json]] = {}
        self.requests: list[httpx.Request] = []
        self.interceptors: list[Interceptor] = []
        self.idempotent: dict[str, Json] = {}
        self.created: list[Json] = []
        router.route(host=host).mock(side_effect=self._answer)

    # -- filling the site -----------------------------------------------------------------------

    def add(self, listing: str, obj: Json) -> Json:
        self.objects[listing][str(obj["id"])] = obj
        return obj

    def add_document(self, listing: str, document: Json, all_lines: list[Json]) -> Json:
        """An invoice or credit note whose embedded lines were cut short; ``all_lines`` is all."""
        self.full_lines[(listing, str(document["id"]))] = all_lines
        return self.add(listing, document)

    def requests_to(self, path: str, method: str = "GET") -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == f"/api/v2{path}" and r.method == method]

    def list_calls(self, listing: str) -> list[dict[str, str]]:
        return [dict(r.url.params) for r in self.requests_to(f"/{listing}")]

    def lose_answer(self, path: str) -> Interceptor:
        """Carry out the first request to ``path`` but answer 504, as if the answer was lost."""
        left = [1]

        def intercept(request: httpx.Request, _: int) -> httpx.Response | None:
            if left[0] <= 0 or request.url.path != f"/api/v2{path}":
                return None
            left[0] -= 1
            self._handle(request)
            return failing(504, times=1)(request, 0)

        return intercept

    # -- answering ------------------------------------------------------------------------------

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for intercept in self.interceptors:
            answer = intercept(request, len(self.requests))
            if answer is not None:
                return answer
        return self._handle(request)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.removeprefix("/api/v2/").split("/")
        if request.method == "POST":
            return self._post(request, parts)
        if len(parts) == 1 and parts[0] in WRAPPERS:
            return httpx.Response(200, json=self._list(parts[0], request.url.params))
        if len(parts) == 2 and parts[1] in self.objects.get(parts[0], {}):
            return httpx.Response(200, json=self._retrieve(parts[0], parts[1], request))
        return not_found(parts[-1])

    def _list(self, listing: str, params: httpx.QueryParams) -> Json:
        found = list(self.objects.get(listing, {}).values())
        sort_field: str | None = None
        descending = False
        for name, value in params.multi_items():
            if "[" not in name:
                continue
            field, op = name[:-1].split("[", 1)
            if field == "sort_by":
                sort_field, descending = value, op == "desc"
            else:
                found = [o for o in found if _matches(o, field, op, value)]
        if sort_field:
            found.sort(key=lambda o: int(o.get(sort_field) or 0), reverse=descending)
        start = p.offset_position(params["offset"]) if "offset" in params else 0
        limit = int(params.get("limit", "10"))
        assert limit <= 100, "Chargebee pages hold at most 100"
        page = found[start : start + limit]
        token = None
        if start + limit < len(found):
            token = p.offset_token(start + limit, int(page[-1].get("updated_at") or 0))
        body = p.list_envelope(WRAPPERS[listing], [copy.deepcopy(o) for o in page], token)
        if listing == "subscriptions":  # each entry carries the subscription's customer too
            for entry in body["list"]:
                owner = entry["subscription"]["customer_id"]
                entry["customer"] = self.objects["customers"].get(owner) or p.customer(owner)
        return body

    def _retrieve(self, listing: str, object_id: str, request: httpx.Request) -> Json:
        obj = copy.deepcopy(self.objects[listing][object_id])
        params = request.url.params
        lines = self.full_lines.get((listing, object_id))
        if lines is not None and "line_items_offset" in params:
            start = int(params["line_items_offset"])
            limit = int(params.get("line_items_limit", "10"))
            obj["line_items"] = copy.deepcopy(lines[start : start + limit])
            obj.pop("line_items_next_offset", None)
            if start + limit < len(lines):
                obj["line_items_next_offset"] = str(start + limit)
        return {WRAPPERS[listing]: obj}

    def _post(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        key = request.headers.get("chargebee-idempotency-key")
        if key is not None and key in self.idempotent:
            return httpx.Response(
                200, json=self.idempotent[key], headers={"chargebee-idempotency-replayed": "true"}
            )
        if parts == ["invoices", "create_for_charge_items_and_charges"]:
            body = {"invoice": self._refill_invoice(form)}
        elif len(parts) == 3 and parts[0] == "subscriptions" and parts[2] == "usages":
            body = {"usage": self._usage(parts[1], form)}
        else:
            return not_found(parts[-1])
        if key is not None:
            self.idempotent[key] = body
        return httpx.Response(200, json=body)

    def _refill_invoice(self, form: dict[str, str]) -> Json:
        number = len(self.objects["invoices"]) + 1
        price = form["item_prices[item_price_id][0]"]
        quantity = int(form.get("item_prices[quantity][0]", "1"))
        line = p.line_item(
            f"li_refill_{number}",
            item_price=price,
            amount=5_000 * quantity,
            quantity=quantity,
            customer_id=form["customer_id"],
        )
        invoice = p.invoice(
            f"inv_refill_{number}",
            lines=[line],
            customer_id=form["customer_id"],
            currency=form.get("currency_code", "USD"),
            po_number=form.get("po_number"),
            paid_at=int(NOW.timestamp()),
            updated_at=int(NOW.timestamp()),
        )
        invoice["date"] = int(NOW.timestamp())
        self.created.append(form)
        return self.add("invoices", invoice)

    def _usage(self, subscription_id: str, form: dict[str, str]) -> Json:
        usage_id = form.get("id") or f"usage_{len(self.objects['usages']) + 1}"
        existing = self.objects["usages"].get(usage_id)
        if existing is not None and form.get("dedupe_option") == "skip":
            return existing
        self.created.append(form)
        return self.add(
            "usages",
            p.usage(
                usage_id,
                subscription_id=subscription_id,
                item_price=form["item_price_id"],
                quantity=form["quantity"],
                usage_date=int(form["usage_date"]),
            ),
        )


def not_found(what: str) -> httpx.Response:
    body = p.error_body(
        f"{what} not found", status=404, api_error_code="resource_not_found", param="id"
    )
    return httpx.Response(404, json=body)


def failing(
    status: int,
    *,
    times: int,
    path: str | None = None,
    headers: dict[str, str] | None = None,
    body: Json | None = None,
) -> Interceptor:
    """Answer ``status`` to the first ``times`` requests (to ``path`` if given)."""
    left = [times]

    def intercept(request: httpx.Request, _: int) -> httpx.Response | None:
        if left[0] <= 0 or (path is not None and request.url.path != f"/api/v2{path}"):
            return None
        left[0] -= 1
        code = "api_request_limit_exceeded" if status == 429 else "internal_error"
        answer = body or p.error_body(
            "Sorry, try again later", status=status, api_error_code=code, type_="operation_failed"
        )
        return httpx.Response(status, json=answer, headers=headers or {})

    return intercept
