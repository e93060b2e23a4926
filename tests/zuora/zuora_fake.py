"""An in-memory Zuora tenant behind respx: Object Query with paging and filters, OAuth, the
writes creditsync makes, Data Query read-back, failure injection, and callout deliveries.

It answers the way Zuora does: ``/oauth/token`` issues bearer tokens (which the test can expire),
every other call needs one; Object Query honours ``pageSize`` (1-50, else 400), ``cursor`` /
``nextPage``, ``filter[]`` (EQ NE LT GT SW IN, case-insensitive field names) and ``expand[]``
(nested records only when asked for); POSTs replay their stored answer on a repeated
``Idempotency-Key`` (422 when the payload differs); journal entries are checked as Zuora Finance
checks them (at most 100 items, balanced, string amounts, known accounting codes, open period).

It is built to be driven by a contract suite: ``add``/``update`` change the tenant between runs,
``fail`` injects failures (status, count, Retry-After / RateLimit-Reset, 200 with
``success: false``), ``requests`` records every call, and ``callout`` builds valid or invalid
deliveries for the receiver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import respx

from adapters.zuora.settings import ZuoraSettings
from tests.zuora.zuora_payloads import (
    Json,
    data_query_job,
    failure,
    journal_entry_detail,
    token,
    usage,
)

BASE = "https://rest.test.zuora.com"
DATA_FILES = "https://zuora-dataquery-results.s3.us-west-2.amazonaws.com"
CLIENT_ID = "3f6a7b2c-4d5e-4f60-8a9b-0c1d2e3f4a5b"
CLIENT_SECRET = "Zb7rT2xQm9LpW4sVn8Kd3Hf6Jc1Ya5Ue0Go"
NOW = datetime(2026, 2, 1, tzinfo=UTC)
CALLOUT_USER = "zuora-callouts"
CALLOUT_PASSWORD = "c4ll0ut-pa55-7Qz"
HMAC_KEY = "hm4c-key-9f8e7d6c5b4a"


def connection_settings(**overrides: Any) -> dict[str, Any]:
    """A connection's raw settings (as a config file holds them) that reach the stand-in, with
    callout credentials and the usage unit set."""
    raw: dict[str, Any] = {
        "base_url": BASE,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "backfill_from": "2026-01-01",
        "callout_credentials": [{"user": CALLOUT_USER, "password": CALLOUT_PASSWORD}],
        "usage_uom": "credits",
    }
    raw.update(overrides)
    return raw


def zuora_settings(**overrides: Any) -> ZuoraSettings:
    """:func:`connection_settings`, validated."""
    return ZuoraSettings.model_validate(connection_settings(**overrides))


OBJECTS = (
    "invoices",
    "credit-memos",
    "refunds",
    "refund-applications",
    "payments",
    "usages",
    "accounts",
    "product-rate-plan-charge-tiers",
)


@dataclass
class Injected:
    """Answer matching requests with ``status`` (``count`` times), then behave normally."""

    method: str
    path_prefix: str
    status: int
    count: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Json | None = None
    after: int = 0  # let this many matching requests through first


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _field(record: Json, name: str) -> Any:
    for key, value in record.items():
        if key.lower() == name.lower():
            return value
    return None


def _matches(record: Json, expression: str) -> bool:
    name, _, rest = expression.partition(".")
    op, _, value = rest.partition(":")
    actual = _field(record, name)
    if op == "IN":
        options = [v.strip() for v in value.strip("[]").split(",")]
        return str(actual) in options
    if actual is None:
        return op == "NE"
    left: Any = str(actual)
    right: Any = value
    moment_left, moment_right = _parse_time(left), _parse_time(right)
    if moment_left and moment_right and "T" in left:
        left, right = moment_left, moment_right
    else:
        left, right = left.lower(), right.lower()
    outcome: bool = {
        "EQ": left == right,
        "NE": left != right,
        "LT": left < right,
        "GT": left > right,
        "SW": str(left).startswith(str(right)),
    }[op]
    return outcome


class ZuoraFake:
    def __init__(self, router: respx.MockRouter, base: str = BASE) -> None:
        self.base = base
        self.records: dict[str, dict[str, Json]] = {name: {} for name in OBJECTS}
        self.requests: list[httpx.Request] = []
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []
        self.injected: list[Injected] = []
        self.tokens: set[str] = set()
        self.tokens_issued = 0
        self.accounting_codes: set[str] = set()
        self.open_periods: set[str] = set()
        self.journal_entries: dict[str, Json] = {}
        self.idempotent: dict[str, tuple[str, httpx.Response]] = {}
        self.jobs: dict[str, Json] = {}
        self.job_polls_before_done = 1
        self.next_token_expires_in = 3599
        host = httpx.URL(base).host
        router.route(host=host).mock(side_effect=self._answer)
        router.route(url__startswith=DATA_FILES).mock(side_effect=self._data_file)

    # -- filling the tenant ---------------------------------------------------------------------

    def add(self, object_name: str, record: Json) -> Json:
        self.records[object_name][str(record["id"])] = record
        if object_name == "refunds":  # its applications are listable on their own, as in Zuora
            header = {k: v for k, v in record.items() if k != "refundApplications"}
            for application in record.get("refundApplications") or ():
                self.records["refund-applications"][str(application["id"])] = {
                    **application,
                    "refund": header,
                }
        return record

    def update(self, object_name: str, record_id: str, **changes: Any) -> Json:
        self.records[object_name][record_id].update(changes)
        return self.records[object_name][record_id]

    def fail(
        self,
        path_prefix: str,
        status: int,
        count: int = 1,
        *,
        method: str = "GET",
        retry_after: str | None = None,
        rate_limit_reset: str | None = None,
        body: Json | None = None,
        after: int = 0,
    ) -> None:
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        if rate_limit_reset is not None:
            headers["RateLimit-Reset"] = rate_limit_reset
        self.injected.append(Injected(method, path_prefix, status, count, headers, body, after))

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def calls(self, method: str, path_prefix: str) -> list[httpx.Request]:
        return [
            r for r in self.requests if r.method == method and r.url.path.startswith(path_prefix)
        ]

    # -- answering ------------------------------------------------------------------------------

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self._route(request)
        self.exchanges.append((request, response))
        return response

    def _route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/oauth/token":
            return self._token(request)
        for rule in self.injected:
            if rule.count and request.method == rule.method and path.startswith(rule.path_prefix):
                if rule.after:
                    rule.after -= 1
                    continue
                rule.count -= 1
                body = rule.body or failure("50000040", f"injected HTTP {rule.status}")
                return httpx.Response(rule.status, json=body, headers=rule.headers)
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in self.tokens:
            return httpx.Response(401, json={"message": "Authentication error"})
        if request.method == "GET" and path.startswith("/object-query/"):
            return self._object_query(request, path.removeprefix("/object-query/"))
        if request.method == "POST":
            return self._idempotent(request)
        if request.method == "GET" and path.startswith("/v1/journal-entries/"):
            number = path.rsplit("/", 1)[-1]
            found = self.journal_entries.get(number)
            if found is None:
                return httpx.Response(200, json=failure("50000020", f"{number} does not exist"))
            return httpx.Response(200, json=found)
        if request.method == "GET" and path.startswith("/query/jobs/"):
            return self._job(path.rsplit("/", 1)[-1])
        return httpx.Response(404, json=failure("50000020", f"no route {path}"))

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        if form.get("grant_type") != "client_credentials" or (
            form.get("client_id"),
            form.get("client_secret"),
        ) != (CLIENT_ID, CLIENT_SECRET):
            return httpx.Response(401, json=failure("90000011", "invalid client credentials"))
        self.tokens_issued += 1
        issued = (
            f"zt-{self.tokens_issued:04d}-"
            + hashlib.sha256(str(self.tokens_issued).encode()).hexdigest()[:24]
        )
        self.tokens.add(issued)
        return httpx.Response(200, json=token(issued, self.next_token_expires_in))

    def _object_query(self, request: httpx.Request, rest: str) -> httpx.Response:
        object_name, _, key = rest.partition("/")
        if object_name not in self.records:
            return httpx.Response(404, json=failure("50000020", f"unknown object {object_name}"))
        params = request.url.params
        expand = {e.lower() for e in params.get_list("expand[]")}
        if key:
            found = self.records[object_name].get(key)
            if found is None:
                return httpx.Response(404, json=failure("50000020", f"{key} not found"))
            return httpx.Response(200, json=self._shape(found, expand))
        size = int(params.get("pageSize", "10"))
        if not 1 <= size <= 50:
            return httpx.Response(
                400, json=failure("50000040", "pageSize must be between 1 and 50")
            )
        filters = params.get_list("filter[]")
        rows = [
            r for r in self.records[object_name].values() if all(_matches(r, f) for f in filters)
        ]
        rows.sort(key=lambda r: (str(r.get("updatedDate")), str(r["id"])))
        start = 0
        if "cursor" in params:
            start = json.loads(base64.urlsafe_b64decode(params["cursor"]))["offset"]
        page = rows[start : start + size]
        body: Json = {"data": [self._shape(r, expand) for r in page]}
        if start + size < len(rows):
            body["nextPage"] = base64.urlsafe_b64encode(
                json.dumps({"offset": start + size}).encode()
            ).decode()
        return httpx.Response(200, json=body)

    @staticmethod
    def _shape(record: Json, expand: set[str]) -> Json:
        """Nested records only when expanded, as Object Query answers."""
        shaped: Json = {}
        for key, value in record.items():
            nested = isinstance(value, dict) or (
                isinstance(value, list) and value and isinstance(value[0], dict)
            )
            if (
                isinstance(value, list)
                and not value
                and key[0].islower()
                and key.endswith(("s", "Items"))
            ):
                nested = True
            if nested and key.lower() not in expand:
                continue
            shaped[key] = value
        return shaped

    def _idempotent(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get("Idempotency-Key")
        digest = hashlib.sha256(request.content).hexdigest()
        if key and key in self.idempotent:
            seen, answer = self.idempotent[key]
            if seen != digest:
                return httpx.Response(422, json=failure("50000060", "idempotency key reused"))
            return answer
        body = json.loads(request.content, parse_float=Decimal)
        path = request.url.path
        handler: Callable[[Json], httpx.Response] | None = {
            "/v1/object/usage": self._create_usage,
            "/v1/invoices": self._create_invoice,
            "/v1/payments": self._create_payment,
            "/v1/journal-entries": self._create_journal_entry,
            "/query/jobs": self._submit_job,
        }.get(path)
        if handler is None:
            return httpx.Response(404, json=failure("50000020", f"no route {path}"))
        answer = handler(body)
        if key and answer.status_code == 200:
            self.idempotent[key] = (digest, answer)
        return answer

    # -- writes ---------------------------------------------------------------------------------

    def _create_usage(self, body: Json) -> httpx.Response:
        if body.get("AccountId") not in self.records["accounts"]:
            return httpx.Response(
                200,
                json={
                    "Success": False,
                    "Errors": [{"Code": "INVALID_VALUE", "Message": "invalid AccountId"}],
                },
            )
        usage_id = f"8ad0usage{len(self.records['usages']) + 1:023d}"
        self.add(
            "usages",
            usage(
                usage_id,
                account_id=body["AccountId"],
                quantity=float(body["Quantity"]),
                description=body.get("Description", ""),
                uom=body["UOM"],
            ),
        )
        return httpx.Response(200, json={"Success": True, "Id": usage_id})

    def _create_invoice(self, body: Json) -> httpx.Response:
        number = body.get("invoiceNumber")
        if any(i.get("invoiceNumber") == number for i in self.records["invoices"].values()):
            return httpx.Response(
                200, json=failure("53000020", f"invoice number {number} already exists")
            )
        account = self.records["accounts"].get(str(body.get("accountId")))
        if account is None:
            return httpx.Response(200, json=failure("50000020", "account not found"))
        total = sum(Decimal(str(i["amount"])) for i in body["invoiceItems"])
        invoice_id = f"8ad0inv{len(self.records['invoices']) + 1:025d}"
        record = {
            "id": invoice_id,
            "invoiceNumber": number,
            "accountId": account["id"],
            "status": body.get("status", "Draft"),
            "currency": account["currency"],
            "amount": float(total),
            "amountWithoutTax": float(total),
            "balance": float(total),
            "invoiceDate": body["invoiceDate"],
            "createdDate": "2026-01-05T10:00:00.000+00:00",
            "updatedDate": "2026-01-05T10:00:00.000+00:00",
        }
        self.add("invoices", record)
        return httpx.Response(200, json={"success": True, **{k: v for k, v in record.items()}})

    def _create_payment(self, body: Json) -> httpx.Response:
        for application in body.get("invoices") or []:
            invoice = self.records["invoices"][application["invoiceId"]]
            balance = Decimal(str(invoice["balance"])) - Decimal(str(application["amount"]))
            invoice["balance"] = float(balance)
        payment_id = f"8ad0pay{len(self.records['payments']) + 1:025d}"
        return httpx.Response(200, json={"success": True, "id": payment_id, "status": "Processed"})

    def _create_journal_entry(self, body: Json) -> httpx.Response:
        items = body.get("journalEntryItems") or []
        problems: list[str] = []
        if body.get("accountingPeriodName") not in self.open_periods:
            problems.append(f"accounting period {body.get('accountingPeriodName')} is not open")
        if not 1 <= len(items) <= 100:
            problems.append("journalEntryItems must hold 1 to 100 items")
        debit = credit = Decimal(0)
        for item in items:
            if not isinstance(item.get("amount"), str):
                problems.append("amount must be a string")
                continue
            if item.get("accountingCodeName") not in self.accounting_codes:
                problems.append(f"accounting code {item.get('accountingCodeName')} does not exist")
            amount = Decimal(item["amount"])
            if item.get("type") == "Debit":
                debit += amount
            else:
                credit += amount
        if debit != credit:
            problems.append("the total debit amount must equal the total credit amount")
        if problems:
            return httpx.Response(200, json=failure("53100020", "; ".join(problems)))
        number = f"JE-{len(self.journal_entries) + 1:08d}"
        self.journal_entries[number] = journal_entry_detail(
            number,
            period_name=body["accountingPeriodName"],
            currency=body["currency"],
            entry_date=body["journalEntryDate"],
            notes=body.get("notes", ""),
            items=items,
        )
        return httpx.Response(200, json={"success": True, "journalEntryNumber": number})

    def _submit_job(self, body: Json) -> httpx.Response:
        match = re.search(r"ap\.name = '((?:[^']|'')*)'", body.get("query", ""))
        job_id = hashlib.sha256(f"job{len(self.jobs)}".encode()).hexdigest()
        self.jobs[job_id] = {
            "period": match.group(1).replace("''", "'") if match else None,
            "polls": 0,
        }
        return httpx.Response(200, json=data_query_job(job_id, "submitted"))

    def _job(self, job_id: str) -> httpx.Response:
        job = self.jobs[job_id]
        job["polls"] += 1
        if job["polls"] < self.job_polls_before_done:
            return httpx.Response(200, json=data_query_job(job_id, "in_progress"))
        return httpx.Response(
            200,
            json=data_query_job(
                job_id, "completed", f"{DATA_FILES}/{job_id}.jsonl?X-Amz-Signature=abc"
            ),
        )

    def _data_file(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        job_id = request.url.path.rsplit("/", 1)[-1].removesuffix(".jsonl")
        period = self.jobs[job_id]["period"]
        lines = [
            json.dumps({"number": number})
            for number, entry in sorted(self.journal_entries.items())
            if entry["accountingPeriodName"] == period and entry["notes"].startswith("creditsync:")
        ]
        return httpx.Response(200, content=("\n".join(lines) + "\n").encode())


# -- callout deliveries -------------------------------------------------------------------------


def callout_body(object_type: str, object_id: str, event_type: str = "InvoicePosted") -> bytes:
    return json.dumps(
        {"eventType": event_type, "objectType": object_type, "objectId": object_id}
    ).encode()


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def callout(
    object_type: str,
    object_id: str,
    notification_id: str,
    *,
    user: str | None = None,
    password: str | None = None,
    hmac_key: str | None = None,
    hmac_header: str = "X-Zuora-Signature",
    request_id: str = "req-1",
) -> tuple[dict[str, str], bytes]:
    """One callout delivery (headers, body), with basic credentials or an HMAC of the body."""
    body = callout_body(object_type, object_id)
    headers = {
        "Content-Type": "application/json",
        "Zuora-Notification-Id": notification_id,
        "Zuora-Request-Id": request_id,
    }
    if user is not None and password is not None:
        headers["Authorization"] = basic_header(user, password)
    if hmac_key is not None:
        digest = hmac.new(hmac_key.encode(), body, "sha256").digest()
        headers[hmac_header] = base64.b64encode(digest).decode()
    return headers, body
