"""Where an incremental Stripe sync stands, as plain JSON the core stores between runs.

Each stream (one object type, or the Events API) remembers ``since``: the ``created`` bound up
to which its last complete pass read. A run fixes one upper bound ``until`` for every stream and
starts each at ``since - overlap`` (or the backfill date), so an object created at the boundary
is read twice rather than never; downstream writes are idempotent on source keys. While a run is
under way the cursor also holds the stream being read and the last object id of the last page
handed out, so a crash resumes with the next page and nothing is yielded twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connector.errors import InvalidInput

STREAMS: tuple[str, ...] = (
    "paid_invoices",
    "checkout_sessions",
    "void_invoices",
    "credit_notes",
    "refunds",
    "disputes",
    "events",
)


class RunState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    until: int = Field(ge=0, description="created[lte] of every stream in this run")
    start: dict[str, int] = Field(description="created[gte] of each stream in this run")
    stream: str = Field(description="the stream being read")
    starting_after: str | None = Field(default=None, description="last id handed out")

    @model_validator(mode="after")
    def _known(self) -> RunState:
        if self.stream not in STREAMS or set(self.start) != set(STREAMS):
            raise ValueError(f"streams must be {', '.join(STREAMS)}")
        return self

    def window(self, stream: str) -> tuple[int, int]:
        return self.start[stream], self.until


class SyncCursor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    since: dict[str, int] = Field(default_factory=dict)
    run: RunState | None = None

    def begin(self, now: datetime, overlap_seconds: int, backfill_from: datetime) -> SyncCursor:
        """Open a run up to ``now`` unless one is already under way (then resume it)."""
        if self.run is not None:
            return self
        floor = int(backfill_from.timestamp())
        start = {
            stream: max(self.since[stream] - overlap_seconds, 0) if stream in self.since else floor
            for stream in STREAMS
        }
        run = RunState(until=int(now.timestamp()), start=start, stream=STREAMS[0])
        return self.model_copy(update={"run": run})

    def after_page(self, stream: str, last_id: str | None, has_more: bool) -> SyncCursor:
        """The cursor to save once a page of ``stream`` has been handed out."""
        run = self.run
        assert run is not None, "after_page needs a run under way"
        if has_more and last_id:
            moved = run.model_copy(update={"stream": stream, "starting_after": last_id})
            return self.model_copy(update={"run": moved})
        since = {**self.since, stream: run.until}
        position = STREAMS.index(stream)
        if position + 1 == len(STREAMS):
            return self.model_copy(update={"since": since, "run": None})
        moved = run.model_copy(update={"stream": STREAMS[position + 1], "starting_after": None})
        return self.model_copy(update={"since": since, "run": moved})

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def load_cursor(raw: Mapping[str, Any] | None) -> SyncCursor:
    if not raw:
        return SyncCursor()
    try:
        return SyncCursor.model_validate(dict(raw))
    except ValidationError as exc:
        problem = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'cursor'}: {e['msg']}"
            for e in exc.errors(include_input=False)
        )
        raise InvalidInput(
            "cursor",
            f"is not a Stripe sync cursor ({problem})",
            "pass the cursor of the last page the Stripe source yielded, or none to backfill",
        ) from None
