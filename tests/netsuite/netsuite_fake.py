"""A stand-in for one NetSuite account's REST web services behind respx, in memory.

It does what the sink relies on, shaped as NetSuite answers:
- ``POST /services/rest/auth/oauth2/v1/token``: checks the client assertion (a JWT signed with
  the certificate's key, PS256 or ES256, with ``kid``, ``iss``, ``aud``, ``scope``, ``exp``) and
  answers ``access_token`` / ``token_type`` / ``expires_in``;
- ``PUT /services/rest/record/v1/journalEntry/eid:<external id>``: an upsert; 204 No Content
  with the record's address in ``Location``; a closed period or unknown reference gets a 400
  error body with ``o:errorDetails`` (``detail``, ``o:errorCode``);
- ``POST /services/rest/query/v1/suiteql`` with ``Prefer: transient``: the handful of queries the
  sink sends (accounts by number, currencies, accounting periods, the journal read-back, a record
  by external id), paged by ``limit`` / ``offset`` in SuiteQL's envelope (``links``, ``count``,
  ``hasMore``, ``items``, ``offset``, ``totalResults``). As SuiteQL does, every value is text and
  a column whose value is null is left out of the item.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

HOST = "https://1234567-sb1.suitetalk.api.netsuite.com"
ACCOUNT_ID = "1234567_SB1"
CLIENT_ID = "3f7c1a9e0d2b4c6e8a1f3e5d7c9b1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b"
CERTIFICATE_ID = "kV1q9xY2mR8tZ4wN6pL0sJ3hF5dB7cA9eG1iK3mO5qS"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
RECORD_PATH = "/services/rest/record/v1/journalEntry"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
CURRENCIES = {"1": "USD", "2": "GBP", "3": "CAD", "4": "EUR", "5": "JPY"}
ACCOUNT_NUMBERS = {"2350": "251", "4010": "54", "4015": "55", "4090": "58", "1205": "119"}


def error_body(status: int, title: str, detail: str, code: str) -> dict[str, Any]:
    return {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
        "title": title,
        "status": status,
        "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
    }


@dataclass
class Line:
    account: str
    debit: Decimal | None
    credit: Decimal | None
    memo: str
    department: str | None
    class_: str | None
    location: str | None


@dataclass
class Journal:
    internal_id: str
    external_id: str
    tran_date: str
    period: str  # YYYY-MM of the posting period
    currency: str  # internal id
    subsidiary: str | None
    memo: str
    lines: list[Line]


@dataclass
class FakeNetSuite:
    router: respx.MockRouter
    public_key: Any
    algorithm: str = "PS256"
    periods: dict[str, str] = field(default_factory=dict)  # YYYY-MM -> internal id
    closed: set[str] = field(default_factory=set)  # YYYY-MM NetSuite refuses
    journals: dict[str, Journal] = field(default_factory=dict)  # by external id
    tokens_issued: list[str] = field(default_factory=list)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    fail_next: list[httpx.Response] = field(default_factory=list)  # answered before anything
    leeway: float = 0.0  # seconds of clock skew allowed on iat / exp (tests that move time)
    _next_id: int = 1000

    def __post_init__(self) -> None:
        for year in range(2025, 2029):
            for month in range(1, 13):
                self.periods[f"{year}-{month:02d}"] = str(100 + (year - 2025) * 12 + month)
        self.router.post(HOST + TOKEN_PATH).mock(side_effect=self._token)
        self.router.put(url__regex=re.escape(HOST + RECORD_PATH) + r"/eid:(?P<eid>[^?]+)").mock(
            side_effect=self._upsert
        )
        self.router.post(url__startswith=HOST + SUITEQL_PATH).mock(side_effect=self._suiteql)

    # -- what a test does to the account -------------------------------------------------------

    def delete(self, external_id: str) -> None:
        del self.journals[external_id]

    def change_amount(self, external_id: str, by: Decimal) -> None:
        """Add ``by`` to the first debit line and the first credit line (it still balances)."""
        journal = self.journals[external_id]
        debit = next(line for line in journal.lines if line.debit is not None)
        credit = next(line for line in journal.lines if line.credit is not None)
        assert debit.debit is not None and credit.credit is not None
        debit.debit += by
        credit.credit += by

    # -- the endpoints ---------------------------------------------------------------------------

    def _guard(self, request: httpx.Request) -> httpx.Response | None:
        self.requests.append(request)
        if self.fail_next:
            return self.fail_next.pop(0)
        auth = request.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.tokens_issued:
            return httpx.Response(
                401, json=error_body(401, "Unauthorized", "Invalid login attempt.", "INVALID_LOGIN")
            )
        return None

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        assert form["grant_type"] == "client_credentials"
        assert form["client_assertion_type"] == (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        )
        token = form["client_assertion"]
        header = jwt.get_unverified_header(token)
        try:
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=[self.algorithm],
                audience=HOST + TOKEN_PATH,
                issuer=CLIENT_ID,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "scope"]},
            )
        except jwt.PyJWTError as exc:
            return httpx.Response(
                400, json={"error": "invalid_request", "error_description": str(exc)}
            )
        if header.get("kid") != CERTIFICATE_ID or claims["exp"] - claims["iat"] > 3600:
            return httpx.Response(400, json={"error": "invalid_grant"})
        self.assertions.append({"header": header, "claims": claims})
        access = f"eyJ.fake.{len(self.tokens_issued) + 1}"
        self.tokens_issued.append(access)
        return httpx.Response(
            200, json={"access_token": access, "token_type": "bearer", "expires_in": 3600}
        )

    def _upsert(self, request: httpx.Request, eid: str) -> httpx.Response:
        refused = self._guard(request)
        if refused is not None:
            return refused
        assert request.url.params.get("replace") == "line"
        body = json.loads(request.content)
        assert body["externalId"] == eid
        period = next(
            (
                p
                for p, pid in self.periods.items()
                if pid == body.get("postingPeriod", {}).get("id")
            ),
            body["tranDate"][:7],
        )
        if period in self.closed:
            return httpx.Response(
                400,
                json=error_body(
                    400,
                    "Bad Request",
                    "Error while accessing a resource. You cannot post to a closed period "
                    f"({period}).",
                    "USER_ERROR",
                ),
            )
        if body["currency"]["id"] not in CURRENCIES:
            return httpx.Response(
                400,
                json=error_body(
                    400,
                    "Bad Request",
                    "Error while accessing a resource. Invalid currency reference key "
                    f"{body['currency']['id']}.",
                    "INVALID_KEY_OR_REF",
                ),
            )
        lines = [
            Line(
                account=item["account"]["id"],
                debit=Decimal(str(item["debit"])) if "debit" in item else None,
                credit=Decimal(str(item["credit"])) if "credit" in item else None,
                memo=item.get("memo", ""),
                department=item.get("department", {}).get("id"),
                class_=item.get("class", {}).get("id"),
                location=item.get("location", {}).get("id"),
            )
            for item in body["line"]["items"]
        ]
        debits = sum((line.debit or Decimal(0) for line in lines), Decimal(0))
        credits = sum((line.credit or Decimal(0) for line in lines), Decimal(0))
        assert debits == credits, "NetSuite refuses an unbalanced journal"
        existing = self.journals.get(eid)
        internal_id = existing.internal_id if existing else str(self._next_id)
        if existing is None:
            self._next_id += 1
        self.journals[eid] = Journal(
            internal_id=internal_id,
            external_id=eid,
            tran_date=body["tranDate"],
            period=period,
            currency=body["currency"]["id"],
            subsidiary=body.get("subsidiary", {}).get("id"),
            memo=body.get("memo", ""),
            lines=lines,
        )
        return httpx.Response(204, headers={"Location": f"{HOST}{RECORD_PATH}/{internal_id}"})

    def _suiteql(self, request: httpx.Request) -> httpx.Response:
        refused = self._guard(request)
        if refused is not None:
            return refused
        assert request.headers.get("Prefer") == "transient"
        query = json.loads(request.content)["q"]
        rows = self._answer(query)
        limit = int(request.url.params.get("limit", 1000))
        offset = int(request.url.params.get("offset", 0))
        page = rows[offset : offset + limit]
        has_more = offset + limit < len(rows)
        links = [{"rel": "self", "href": str(request.url)}]
        if has_more:
            links.append(
                {
                    "rel": "next",
                    "href": f"{HOST}{SUITEQL_PATH}?limit={limit}&offset={offset + limit}",
                }
            )
        return httpx.Response(
            200,
            json={
                "links": links,
                "count": len(page),
                "hasMore": has_more,
                "items": [{"links": [], **row} for row in page],
                "offset": offset,
                "totalResults": len(rows),
            },
        )

    def _answer(self, query: str) -> list[dict[str, str]]:
        handlers: list[tuple[str, Callable[[re.Match[str]], list[dict[str, str]]]]] = [
            (r"FROM account WHERE acctnumber IN \((?P<numbers>[^)]*)\)", self._accounts),
            (r"SELECT id, symbol FROM currency$", lambda _m: self._currencies()),
            (r"FROM accountingperiod WHERE isyear = 'F'", lambda _m: self._periods()),
            (
                r"FROM transaction t .*LIKE '(?P<prefix>[^%']*)%' .*= '(?P<period>\d{4}-\d{2})'",
                self._journal_rows,
            ),
            (r"FROM transaction WHERE externalid = '(?P<eid>[^']*)'", self._by_external_id),
        ]
        for pattern, handler in handlers:
            match = re.search(pattern, query)
            if match:
                return handler(match)
        raise AssertionError(f"the stand-in does not know this query: {query}")

    def _accounts(self, match: re.Match[str]) -> list[dict[str, str]]:
        numbers = re.findall(r"'([^']*)'", match["numbers"])
        return [
            {"id": ACCOUNT_NUMBERS[n], "acctnumber": n} for n in numbers if n in ACCOUNT_NUMBERS
        ]

    def _currencies(self) -> list[dict[str, str]]:
        return [{"id": cid, "symbol": code} for cid, code in CURRENCIES.items()]

    def _periods(self) -> list[dict[str, str]]:
        return [{"id": pid, "period": period} for period, pid in self.periods.items()]

    def _by_external_id(self, match: re.Match[str]) -> list[dict[str, str]]:
        journal = self.journals.get(match["eid"])
        return [{"id": journal.internal_id}] if journal else []

    def _journal_rows(self, match: re.Match[str]) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        chosen = sorted(
            (j for j in self.journals.values() if j.period == match["period"]),
            key=lambda j: int(j.internal_id),
        )
        for journal in chosen:
            if not journal.external_id.startswith(match["prefix"]):
                continue
            for number, line in enumerate(journal.lines):
                row = {
                    "id": journal.internal_id,
                    "externalid": journal.external_id,
                    "trandate": journal.tran_date,
                    "period": journal.period,
                    "currency": CURRENCIES[journal.currency],
                    "line": str(number),
                    "subsidiary": journal.subsidiary,
                    "account": line.account,
                    "debit": None if line.debit is None else str(line.debit),
                    "credit": None if line.credit is None else str(line.credit),
                    "memo": line.memo or None,
                    "department": line.department,
                    "class": line.class_,
                    "location": line.location,
                }
                rows.append({k: v for k, v in row.items() if v is not None})
        return rows


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def raw_settings(key_file: Path, **extra: Any) -> dict[str, Any]:
    """A connection's settings as they come from creditsync.toml (the private key by path)."""
    return {
        "account_id": ACCOUNT_ID,
        "client_id": CLIENT_ID,
        "certificate_id": CERTIFICATE_ID,
        "private_key": str(key_file),
        "base_url": HOST,
        **extra,
    }
