"""Text: what a database can store (no NUL, no lone surrogate), and counts in words.

JSON can carry both (``"\\u0000"``, ``"\\ud800"``) and Python strings hold them happily, but
PostgreSQL refuses a NUL in text and neither database driver can encode a lone surrogate as UTF-8.
Inputs are refused with the position named; evidence that must be kept anyway (a rejected
delivery's reason) is made storable instead.
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
TEXT_FIX = "send printable text: no NUL (\\u0000) and no unpaired surrogate (\\ud800-\\udfff)"


def text_problem(value: str, *, position: bool = True) -> str | None:
    """Why ``value`` cannot be stored, or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    char = found.group()
    what = "a NUL character" if char == "\x00" else f"a lone surrogate (U+{ord(char):04X})"
    return f"contains {what}" + (f" at position {found.start()}" if position else "")


def storable(value: str) -> str:
    """``value`` with every NUL and lone surrogate replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", value)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 pool``, ``2 pools``: a count with its noun in the right number."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
