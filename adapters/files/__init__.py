"""The files adapter: canonical events in from JSONL / CSV, journal entries out to JSONL / CSV.

It is the embedded default: a team without a supported billing platform, or a backfill from an
export, gets credits in through a file, and finance gets the journal as files per period.
"""

from __future__ import annotations

from adapters.files.sink import FilesSink
from adapters.files.source import FilesSource
from connector.ports import AdapterSpec

ADAPTER = AdapterSpec(
    platform="files", source=FilesSource.from_settings, sink=FilesSink.from_settings
)

__all__ = ["ADAPTER", "FilesSink", "FilesSource"]
