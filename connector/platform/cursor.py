"""Where an incremental sync over several listings stands, as plain JSON the core stores.

A platform source reads several listings ("streams": paid invoices, credit notes, refunds, the
events feed...). Each stream remembers ``since``: the time bound up to which its last complete
pass read. A run fixes one upper bound ``until`` for every stream and starts each at
``since - overlap`` (or the backfill date), so an object changed at the boundary is read twice
rather than never; downstream writes are idempotent on source keys. While a run is under way the
cursor also holds the stream being read and the platform's token for the next page
(``page_after``: the last id, an offset or an opaque cursor), so a crash resumes with the next
page and nothing is yielded twice. Which streams exist is the adapter's business: it passes
them to :func:`load_cursor`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from connector.errors import InvalidInput


class RunState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    until: int = Field(ge=0, description="upper time bound of every stream in this run")
    start: dict[str, int] = Field(description="lower time bound of each stream in this run")
    stream: str = Field(description="the stream being read")
    page_after: str | None = Field(
        default=None,
        validation_alias=AliasChoices("page_after", "starting_after"),
        description="the platform's token for the next page of ``stream``",
    )

    def window(self, stream: str) -> tuple[int, int]:
        return self.start[stream], self.until


class SyncCursor(BaseModel):
    """The cursor of one connection. Build it with :func:`load_cursor`, which names the streams."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    since: dict[str, int] = Field(default_factory=dict)
    run: RunState | None = None
    _streams: tuple[str, ...] = PrivateAttr(default=())

    @property
    def streams(self) -> tuple[str, ...]:
        return self._streams

    def begin(self, now: datetime, overlap_seconds: int, backfill_from: datetime) -> SyncCursor:
        """Open a run up to ``now`` unless one is already under way (then resume it)."""
        if self.run is not None:
            return self
        floor = int(backfill_from.timestamp())
        start = {
            stream: max(self.since[stream] - overlap_seconds, 0) if stream in self.since else floor
            for stream in self._streams
        }
        run = RunState(until=int(now.timestamp()), start=start, stream=self._streams[0])
        return self._copy({"run": run})

    def after_page(self, stream: str, page_after: str | None, has_more: bool) -> SyncCursor:
        """The cursor to save once a page of ``stream`` has been handed out."""
        run = self.run
        assert run is not None, "after_page needs a run under way"
        if has_more and page_after:
            return self._copy(
                {"run": run.model_copy(update={"stream": stream, "page_after": page_after})}
            )
        since = {**self.since, stream: run.until}
        position = self._streams.index(stream)
        if position + 1 == len(self._streams):
            return self._copy({"since": since, "run": None})
        moved = run.model_copy(update={"stream": self._streams[position + 1], "page_after": None})
        return self._copy({"since": since, "run": moved})

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def _copy(self, update: dict[str, Any]) -> SyncCursor:
        copied = self.model_copy(update=update)
        copied._streams = self._streams
        return copied


def load_cursor(
    raw: Mapping[str, Any] | None, streams: tuple[str, ...], platform: str
) -> SyncCursor:
    """Read a stored cursor of a ``platform`` source whose listings are ``streams``."""
    try:
        cursor = SyncCursor.model_validate(dict(raw or {}))
        run = cursor.run
        if run is not None and (run.stream not in streams or set(run.start) != set(streams)):
            raise ValueError(f"streams must be {', '.join(streams)}")
    except (ValidationError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            problem = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'cursor'}: {e['msg']}"
                for e in exc.errors(include_input=False)
            )
        else:
            problem = str(exc)
        raise InvalidInput(
            "cursor",
            f"is not a {platform} sync cursor ({problem})",
            f"pass the cursor of the last page the {platform} source yielded, or none to backfill",
        ) from None
    cursor._streams = streams
    return cursor
