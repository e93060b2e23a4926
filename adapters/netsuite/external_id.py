"""Creditsync entry ids as NetSuite external ids, and back.

An external id may hold only letters, digits, ``_`` and ``-``. Entry ids are mostly that already
(``je-<hex>-1``); anything else (and ``_`` itself, the escape character) is written as ``_XX``, its
UTF-8 bytes in upper-case hex, so the encoding is reversible and stable. The prefix marks the
journal entries creditsync made, which is how the read-back finds them.
"""

from __future__ import annotations

import re
from typing import Final

PREFIX: Final = "creditsync-"
_PLAIN: Final = re.compile(r"[A-Za-z0-9-]")
_ESCAPED: Final = re.compile(r"(?:_[0-9A-F]{2})+")
_WELL_FORMED: Final = re.compile(r"(?:[A-Za-z0-9-]|_[0-9A-F]{2})+")


def encode(entry_id: str) -> str:
    out: list[str] = [PREFIX]
    for char in entry_id:
        if _PLAIN.fullmatch(char):
            out.append(char)
        else:
            out.extend(f"_{byte:02X}" for byte in char.encode())
    return "".join(out)


def decode(external_id: str) -> str | None:
    """The entry id, or None when ``external_id`` is not one creditsync wrote."""
    if not external_id.startswith(PREFIX):
        return None
    body = external_id[len(PREFIX) :]
    if not _WELL_FORMED.fullmatch(body):
        return None
    try:
        return _ESCAPED.sub(lambda m: bytes.fromhex(m.group(0).replace("_", "")).decode(), body)
    except UnicodeDecodeError:
        return None
