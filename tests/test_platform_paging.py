"""The shared paging loop every platform adapter with paged listings uses."""

from __future__ import annotations

from connector.platform.paging import every_item, first_item


def pages(*chunks: list[int]):  # type: ignore[no-untyped-def]
    """A reader over ``chunks`` with tokens "1", "2"... and a log of the tokens asked for."""
    asked: list[str | None] = []

    def fetch(token: str | None) -> tuple[list[int], str | None]:
        asked.append(token)
        index = int(token or 0)
        following = str(index + 1) if index + 1 < len(chunks) else None
        return chunks[index], following

    return fetch, asked


def test_every_item_follows_tokens_to_the_last_page() -> None:
    fetch, asked = pages([1, 2], [3], [], [4])

    assert list(every_item(fetch)) == [1, 2, 3, 4]
    assert asked == [None, "1", "2", "3"]


def test_a_repeated_token_ends_the_listing_instead_of_looping() -> None:
    asked: list[str | None] = []

    def stuck(token: str | None) -> tuple[list[int], str | None]:
        asked.append(token)
        return [len(asked)], "same"

    assert list(every_item(stuck)) == [1, 2]
    assert asked == [None, "same"]


def test_first_item_reads_no_further_than_needed() -> None:
    fetch, asked = pages([1, 2], [3, 4], [5])

    assert first_item(fetch, lambda n: n == 3) == 3
    assert asked == [None, "1"]
    assert first_item(pages([1])[0], lambda n: n > 5) is None
