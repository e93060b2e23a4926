"""List pages for the sync benches, serialized once and served for the cost of a substitution.

A sync bench serves N invoices through respx, page by page. Building and serializing each page
would cost more than what is measured, so a page is serialized once, as a template whose ids
carry a marker, and each request only writes the page number over the marker. The last page is
a template of its own: fewer objects, and no link to a next page.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import ClassVar


class TemplatedPages(ABC):
    """``n_objects`` as pages of ``per_page``; a platform says how a page is written."""

    marker: ClassVar[str]  # where a template's ids take the page number
    digits: ClassVar[int]  # the page number's width, zero-padded
    page_size: ClassVar[int]  # the platform's page size, unless the bench asks for another

    def __init__(self, n_objects: int, per_page: int | None = None) -> None:
        per_page = per_page or self.page_size
        self.pages = max(1, -(-n_objects // per_page))
        self.last_size = n_objects - (self.pages - 1) * per_page
        self._full = self.template(per_page, more=True)
        self._last = self.template(self.last_size, more=False)

    @staticmethod
    @abstractmethod
    def template(size: int, more: bool) -> bytes:
        """A page of ``size`` objects with :attr:`marker` for its number; ``more`` if not last."""

    def body(self, page: int) -> bytes:
        template = self._last if page == self.pages - 1 else self._full
        return template.replace(self.marker.encode(), b"%0*d" % (self.digits, page))

    def bodies(self) -> Iterator[bytes]:
        for page in range(self.pages):
            yield self.body(page)


def per_second(count: int, seconds: float) -> float:
    """Objects a second; a run too short for the clock counts as infinitely fast."""
    return count / seconds if seconds > 0 else float("inf")
