"""Reading every object of a paged listing, whatever the platform's page token looks like.

Chargebee hands back an opaque ``next_offset``, Zuora a ``nextPage`` URL, others a cursor: the
adapter reads one page and says where the next starts; this loop does the rest and stops when
a platform repeats a token (a listing that would never end) as surely as when it sends none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
Token = str
FetchPage = Callable[[Token | None], tuple[list[T], Token | None]]


def every_item(fetch: FetchPage[T]) -> Iterator[T]:
    """Every item of the pages ``fetch`` returns, from the first page (token None) on."""
    token: Token | None = None
    seen: set[Token] = set()
    while True:
        items, token = fetch(token)
        yield from items
        if not token or token in seen:
            return
        seen.add(token)


def first_item(fetch: FetchPage[T], wanted: Callable[[T], bool]) -> T | None:
    """The first item ``wanted`` accepts, reading no further page than needed."""
    return next((item for item in every_item(fetch) if wanted(item)), None)
