"""The mapping set in force, reloadable without a restart.

Readers take ``current`` (one attribute read, so always a whole, checked set); ``reload`` reads
the files again and swaps the set in only when they are valid, so a bad edit leaves the running
process on the last good version.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from mappings.loader import load_mappings
from mappings.model import MappingSet


class MappingStore:
    def __init__(self, paths: Iterable[Path | str]) -> None:
        self.paths = tuple(Path(p) for p in paths)
        self._lock = threading.Lock()
        self._current = load_mappings(self.paths)

    @property
    def current(self) -> MappingSet:
        return self._current

    def reload(self) -> MappingSet:
        """Re-read the files; MappingInvalid (and the old set kept) when they have problems."""
        with self._lock:
            fresh = load_mappings(self.paths)
            self._current = fresh
            return fresh
