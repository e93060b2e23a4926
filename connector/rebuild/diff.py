"""Differences between the live database and its rebuild (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connector.rebuild.snapshot import Record, Snapshot

ABSENT = "(absent)"


@dataclass(frozen=True)
class Mismatch:
    what: str  # pool, burn, refund, journal entry
    key: str
    field: str  # "" when the whole row is on one side only
    live: str
    rebuilt: str


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _rows(what: str, live: Mapping[str, Record], rebuilt: Mapping[str, Record]) -> list[Mismatch]:
    out = []
    for key in sorted(set(live) | set(rebuilt)):
        left, right = live.get(key), rebuilt.get(key)
        if left is None or right is None:
            out.append(
                Mismatch(
                    what,
                    key,
                    "",
                    "present" if left is not None else ABSENT,
                    "present" if right is not None else ABSENT,
                )
            )
            continue
        for name in sorted(set(left) | set(right)):
            a, b = left.get(name), right.get(name)
            if a != b:
                out.append(Mismatch(what, key, name, _text(a), _text(b)))
    return out


def diff(live: Snapshot, rebuilt: Snapshot) -> list[Mismatch]:
    return (
        _rows("pool", live.pools, rebuilt.pools)
        + _rows("burn", live.burns, rebuilt.burns)
        + _rows("refund", live.refunds, rebuilt.refunds)
        + _rows("journal entry", live.journal, rebuilt.journal)
    )
