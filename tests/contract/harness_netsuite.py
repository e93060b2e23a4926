"""NetSuite in the contract suite: a journal sink only, so none of the source or webhook
contracts applies (the suite chooses platforms by their AdapterSpec). The harness still stands
the account in, for anything the suite asks of every remote platform: its connection settings,
failing answers and a request count. The sink's own promises (upsert by external id, read-back,
retries, closed periods) are held in tests/netsuite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import respx
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.netsuite.netsuite_fake import FakeNetSuite, error_body, pem, raw_settings

REMOTE = True  # reached over HTTP


class NetSuiteHarness:
    platform = "netsuite"
    remote = REMOTE

    def __init__(self, router: respx.MockRouter, folder: Path) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_file = folder / "netsuite-m2m.pem"
        self.key_file.write_text(pem(key))
        self.fake = FakeNetSuite(router, key.public_key())

    def connection_settings(self) -> dict[str, Any]:
        return raw_settings(self.key_file)

    def fail_requests(self, status: int, times: int, retry_after: float | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.fake.fail_next.extend(
            httpx.Response(status, headers=headers, json=error_body(status, "Error", "x", "E"))
            for _ in range(times)
        )

    def request_count(self) -> int:
        return len(self.fake.requests)


def make(router: respx.MockRouter, folder: Path) -> NetSuiteHarness:
    return NetSuiteHarness(router, folder)
