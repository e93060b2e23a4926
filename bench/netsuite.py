"""NetSuite sink throughput: how much of a post and a read-back is creditsync's own work.

    python -m bench.netsuite [--entries N]

respx answers every PUT with 204 and a Location, and SuiteQL with pages of rows, at no cost, so
what is measured is the sink itself (code lookup, major-unit conversion, the body, the retry
loop, the token, httpx) against a baseline run side by side in the same process: the same
prepared bodies PUT through a bare httpx client to the same respx route. For the read-back, the
sink turns SuiteQL rows into postings; the baseline only decodes the same page JSON.

NetSuite's account concurrency (15 requests at once on the base tier, shared with every other
integration) and its answer times (hundreds of milliseconds a journal) bound real posting at tens
of entries a second. Goals: the sink takes at most twice the time of the bare HTTP stack here
(its own work is the smaller half), and both post and read back at least ten times faster than
NetSuite can answer, so that creditsync is never what a drain or a reconcile waits for.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.netsuite.client import NetSuiteClient
from adapters.netsuite.external_id import PREFIX, encode
from adapters.netsuite.payload import postings
from adapters.netsuite.settings import NetSuiteSettings
from adapters.netsuite.sink import NetSuiteSink
from connector.journal import EntryKind, JournalEntry, JournalLine
from connector.settings import EXAMPLE_MAPPINGS
from mappings.loader import load_mappings

HOST = "https://bench.suitetalk.api.netsuite.com"


def entries(n: int) -> list[JournalEntry]:
    return [
        JournalEntry(
            id=f"je-{i:024x}-1",
            kind=EntryKind.RECOGNITION,
            period="2026-10",
            entry_date=date(2026, 10, 31),
            currency="USD",
            lines=(
                JournalLine(account="2350", debit=1000 + i),
                JournalLine(account="4010", credit=1000 + i),
            ),
            memo="creditsync recognition 2026-10 USD (3 pools)",
        )
        for i in range(n)
    ]


def settings(folder: Path) -> NetSuiteSettings:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / "key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    books = load_mappings([EXAMPLE_MAPPINGS]).sink_books("netsuite")
    return NetSuiteSettings.model_validate(
        {
            "account_id": "bench",
            "client_id": "bench-client",
            "certificate_id": "bench-cert",
            "private_key": str(path),
            "base_url": HOST,
            "gl_books": [b.model_dump(by_alias=True) for b in books],
        }
    )


def rows(n: int) -> list[dict[str, object]]:
    """SuiteQL items: every value text, as NetSuite sends them, and the item's links."""
    out: list[dict[str, object]] = []
    for i in range(n):
        for line, (account, side) in enumerate((("251", "debit"), ("54", "credit"))):
            out.append(
                {
                    "links": [],
                    "id": str(1000 + i),
                    "externalid": encode(f"je-{i:024x}-1"),
                    "trandate": "2026-10-31",
                    "period": "2026-10",
                    "currency": "USD",
                    "line": str(line),
                    "subsidiary": "1",
                    "account": account,
                    side: f"{10 + i / 100:.2f}",
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=5_000)
    n = parser.parse_args().entries
    with tempfile.TemporaryDirectory() as folder, respx.mock(assert_all_called=False) as mock:
        mock.post(f"{HOST}/services/rest/auth/oauth2/v1/token").respond(
            200, json={"access_token": "t", "token_type": "bearer", "expires_in": 3600}
        )
        mock.put(url__startswith=f"{HOST}/services/rest/record/v1/journalEntry/").respond(
            204, headers={"Location": f"{HOST}/services/rest/record/v1/journalEntry/1001"}
        )
        mock.post(url__startswith=f"{HOST}/services/rest/query/v1/suiteql").respond(
            200,
            json={
                "links": [],
                "count": 2,
                "hasMore": False,
                "offset": 0,
                "totalResults": 2,
                "items": [{"links": [], "id": "2", "symbol": "USD", "period": "2026-10"}],
            },
        )
        config = settings(Path(folder))
        sink = NetSuiteSink(config, NetSuiteClient(config))
        batch = entries(n)
        sink.post(batch[0])  # token, currencies, periods: read once, not timed

        started = time.perf_counter()
        for entry in batch:
            sink.post(entry)
        sink_seconds = time.perf_counter() - started

        bare = httpx.Client()
        bodies = [
            (encode(e.id), json.dumps({"externalId": encode(e.id), "n": e.total})) for e in batch
        ]
        started = time.perf_counter()
        for external_id, body in bodies:
            bare.put(
                f"{HOST}/services/rest/record/v1/journalEntry/eid:{external_id}",
                content=body,
                headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
            )
        bare_seconds = time.perf_counter() - started

    page = json.dumps({"items": rows(n)})
    started = time.perf_counter()
    decoded = json.loads(page)["items"]
    decode_seconds = time.perf_counter() - started
    started = time.perf_counter()
    found = postings(json.loads(page)["items"], sink.chart)
    readback_seconds = time.perf_counter() - started
    assert len(found) == n and len(decoded) == 2 * n and found[0].entry_id is not None
    assert PREFIX in found[0].sink_id or found[0].sink_id.isdigit()

    print(f"NetSuite sink, {n:,} journal entries (respx answers at no cost)")
    print(f"  post through the sink : {n / sink_seconds:10,.0f} entries/s")
    print(f"  bare httpx PUT        : {n / bare_seconds:10,.0f} entries/s")
    print(f"  sink / bare           : {sink_seconds / bare_seconds:10.2f} x the time")
    print(f"  read back (SuiteQL rows -> postings): {n / readback_seconds:10,.0f} entries/s")
    print(f"  json.loads of the same page         : {n / decode_seconds:10,.0f} entries/s")
    print(f"  read back / decode only             : {readback_seconds / decode_seconds:10.2f} x")


if __name__ == "__main__":
    main()
