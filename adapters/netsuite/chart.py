"""Creditsync's account codes as NetSuite account ids, per GL table, and back.

Each GL table of the mappings (currency, optionally legal entity) carries NetSuite's ids for its
five accounts and the subsidiary its entries book in. Posting looks the table up the way
recognition did (entity and currency, then currency, then the default) and swaps each line's
code for the id; reading back swaps ids for codes within the table of the entry's currency and
subsidiary, so reconcile compares codes with codes. Account numbers are turned into ids once,
through SuiteQL, when the sink starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from connector.errors import InvalidInput
from mappings.gl import ROLES, SinkBook

NumberLookup = Callable[[list[str]], dict[str, str]]  # account numbers -> internal ids


@dataclass(frozen=True)
class Book:
    currency: str | None
    entity: str | None
    subsidiary: str | None
    ids: dict[str, str]  # code -> NetSuite account id
    codes: dict[str, str]  # NetSuite account id -> code


def _books(books: Sequence[SinkBook], lookup: NumberLookup) -> list[Book]:
    numbers = sorted(
        {value for b in books if b.sink.account_ref == "number" for value in b.sink.ids().values()}
    )
    found = lookup(numbers) if numbers else {}
    missing = [n for n in numbers if n not in found]
    if missing:
        raise InvalidInput(
            "gl.sinks",
            f"NetSuite has no account numbered {', '.join(missing)}",
            "check the numbers in the [gl.sinks] tables, or give internal ids with "
            'account_ref = "id"',
        )
    out: list[Book] = []
    for book in books:
        codes = book.accounts.codes()
        sink_ids = book.sink.ids()
        ids = {
            codes[role]: found[sink_ids[role]]
            if book.sink.account_ref == "number"
            else sink_ids[role]
            for role in ROLES
        }
        out.append(
            Book(
                book.currency,
                book.entity,
                book.sink.subsidiary,
                ids,
                {account: code for code, account in ids.items()},
            )
        )
    return out


class Chart:
    def __init__(self, books: Sequence[SinkBook], lookup: NumberLookup) -> None:
        self._books = _books(books, lookup)

    def book(self, currency: str, entity: str | None) -> Book:
        """The GL table an entry of ``currency`` and ``entity`` was made under."""
        for wanted in ((currency, entity), (currency, None), (None, None)):
            for book in self._books:
                if (book.currency, book.entity) == wanted:
                    return book
        scope = currency + (f" and entity {entity}" if entity else "")
        raise InvalidInput(
            "gl.sinks",
            f"no NetSuite accounts for {scope}",
            "add a [gl.sinks.netsuite] table to the [[gl]] table of that currency",
        )

    def account_id(self, book: Book, code: str) -> str:
        try:
            return book.ids[code]
        except KeyError:
            raise InvalidInput(
                "gl.sinks",
                f"account {code} is not one of the {book.currency or 'default'} GL table's "
                "accounts, so it has no NetSuite id",
                "an entry made under an older mapping needs its accounts kept in the GL tables",
            ) from None

    def readback_book(self, currency: str, subsidiary: str | None) -> Book | None:
        """The GL table of an entry NetSuite holds in ``currency`` for ``subsidiary``."""
        candidates: Iterable[Book] = (
            b for b in self._books if b.subsidiary is None or b.subsidiary == subsidiary
        )
        ranked = sorted(
            candidates,
            key=lambda b: (b.currency != currency, b.subsidiary is None),
        )
        return next((b for b in ranked if b.currency in (currency, None)), None)
