"""Small wording helpers for what creditsync prints."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 pool``, ``2 pools``: a count with its noun in the right number."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
