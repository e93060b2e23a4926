"""The files adapter in the contract suite: a JSONL file in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import respx

from adapters.files.source import FilesSource
from connector.platform.retry import RetryPolicy
from connector.ports import PurchaseSource
from tests.contract.harness import Delivery, Harness

REMOTE = False  # read from a folder, not over HTTP

PAGE_SIZE = 100


class FilesHarness:
    platform = "files"
    remote = REMOTE
    page_size = PAGE_SIZE

    def __init__(self, folder: Path) -> None:
        self.path = folder / "purchases.jsonl"
        self.path.write_text("")

    def connection_settings(self) -> dict[str, Any]:
        return {"path": str(self.path)}

    def seed(self, purchases: int) -> None:
        lines = []
        for n in range(purchases):
            lines.append(
                {
                    "kind": "purchase",
                    "source": {"platform": "files", "object_id": f"inv-{n:05d}", "line_id": "1"},
                    "occurred_at": f"2026-01-05T10:{n // 60 % 60:02d}:{n % 60:02d}Z",
                    "currency": "USD",
                    "customer": {"external_id": f"cust-{n:05d}", "email": f"c{n}@example.com"},
                    "item_id": "credits-1k",
                    "quantity": 1,
                    "net_amount": 1_000,
                }
            )
        lines.append(
            {
                "kind": "refund",
                "source": {"platform": "files", "object_id": "re-1", "line_id": ""},
                "occurred_at": "2026-01-06T10:00:00Z",
                "currency": "USD",
                "target_object": "inv-00000",
                "amount": 400,
            }
        )
        self.path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    def source(self, retry: RetryPolicy | None = None) -> PurchaseSource:
        return FilesSource(self.path, page_size=PAGE_SIZE)

    def deliveries(self) -> list[Delivery]:
        raise NotImplementedError("the files adapter receives no webhooks")

    def forged(self) -> Delivery:
        raise NotImplementedError("the files adapter receives no webhooks")

    def fail_requests(self, status: int, times: int, retry_after: float | None = None) -> None:
        raise NotImplementedError("the files adapter makes no requests")

    def request_count(self) -> int:
        return 0


def make(router: respx.MockRouter, folder: Path) -> Harness:
    return FilesHarness(folder)
