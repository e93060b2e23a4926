"""The admin API lists the journal entries a book refused, with the book's own message."""

from __future__ import annotations

from pathlib import Path

from connector.outbox.drain import drain
from tests.test_api_support import auth, client_for, make_runtime
from tests.test_outbox import _entries, _no_sleep
from tests.test_outbox_blocked import ClosingBook


def test_blocked_entries_are_listed_per_sink_with_the_books_message(
    db_url: str, tmp_path: Path
) -> None:
    runtime = make_runtime(db_url, tmp_path)
    try:
        count = _entries(runtime.engine)
        drain(runtime.engine, ClosingBook({"2026-01"}), backoff=_no_sleep([]))
        with client_for(runtime) as client:
            answer = client.get("/v1/admin/outbox/blocked", headers=auth("admin"))
            assert answer.status_code == 200, answer.text
            rows = answer.json()
            assert len(rows) == count
            assert {(r["sink"], r["period"]) for r in rows} == {("erp", "2026-01")}
            assert all("closed period (2026-01)" in r["message"] for r in rows)
            other = client.get(
                "/v1/admin/outbox/blocked", params={"sink": "files"}, headers=auth("admin")
            )
            assert other.json() == []
            refused = client.get("/v1/admin/outbox/blocked", headers=auth("read"))
            assert refused.status_code == 403
    finally:
        runtime.engine.dispose()
