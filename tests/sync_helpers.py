"""Builders for sync tests: canonical events and a runtime on a test database."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.events import CanonicalEvent, Customer, Purchase, Refund, SourceKey
from connector.ports import Page
from connector.runtime import Runtime
from connector.settings import EXAMPLE_MAPPINGS, Settings

JAN = datetime(2026, 1, 5, 10, tzinfo=UTC)


def runtime_for(db_url: str, tmp_path: Path, **settings: Any) -> Runtime:
    return Runtime.from_settings(
        Settings(
            database_url=db_url,
            mapping_paths=[EXAMPLE_MAPPINGS],
            output_dir=tmp_path / "out",
            **settings,
        )
    )


def purchase(
    object_id: str,
    item_id: str = "credits-1k",
    *,
    customer: str = "acme",
    quantity: int = 1,
    net_amount: int = 1000,
    currency: str = "USD",
    line_id: str = "1",
    at: datetime = JAN,
) -> Purchase:
    return Purchase(
        source=SourceKey(platform="files", object_id=object_id, line_id=line_id),
        occurred_at=at,
        currency=currency,
        customer=Customer(external_id=customer, name=customer.title()),
        item_id=item_id,
        quantity=quantity,
        net_amount=net_amount,
    )


def refund(object_id: str, target: str, amount: int, at: datetime = JAN) -> Refund:
    return Refund(
        source=SourceKey(platform="files", object_id=object_id),
        occurred_at=at,
        currency="USD",
        target_object=target,
        amount=amount,
    )


def write_jsonl(path: Path, events: Sequence[CanonicalEvent]) -> Path:
    path.write_text("".join(json.dumps(e.model_dump(mode="json")) + "\n" for e in events))
    return path


class ListSource:
    """A purchase source serving fixed pages; ``fail_on`` raises when that page is reached."""

    platform = "files"

    def __init__(self, pages: Sequence[Sequence[CanonicalEvent]], fail_on: int | None = None):
        self.pages_ = [list(p) for p in pages]
        self.fail_on = fail_on
        self.served: list[int] = []

    def pages(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        start = int((cursor or {}).get("page", 0))
        for number in range(start, len(self.pages_)):
            if number == self.fail_on:
                raise ConnectionError(f"platform went away on page {number}")
            self.served.append(number)
            yield Page(events=self.pages_[number], cursor={"page": number + 1})

    def fetch_objects(self, object_ids: list[str]) -> list[CanonicalEvent]:
        return []


def assert_books_clean(runtime: Runtime) -> None:
    """What `creditsync verify` and `creditsync rebuild --verify` check, asserted clean."""
    from connector.rebuild.verify import rebuild

    assert runtime.ledger.verify() == []
    rebuilt = rebuild(
        runtime.engine,
        current=runtime.mappings.current,
        gl=runtime.gl_accounts,
        plans=runtime.plan_policy,
        timezone=runtime.settings.timezone,
    )
    assert rebuilt.errors == [] and rebuilt.mismatches == [], (rebuilt.errors, rebuilt.mismatches)
    assert rebuilt.verified
