"""What a sink holds, read once per period per reconciliation (sinks may be remote and slow)."""

from __future__ import annotations

from connector.journal import PostedEntry
from connector.ports import JournalSink


class ReadBack:
    def __init__(self, sink: JournalSink) -> None:
        self.sink = sink
        self._periods: dict[str, list[PostedEntry]] = {}

    @property
    def name(self) -> str:
        return self.sink.name

    def period(self, period: str) -> list[PostedEntry]:
        if period not in self._periods:
            self._periods[period] = list(self.sink.posted(period))
        return self._periods[period]

    def holds(self, period: str, entry_id: str) -> bool:
        return any(p.entry_id == entry_id for p in self.period(period))
