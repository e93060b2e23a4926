"""Group commit for burns: concurrent callers share one transaction, each keeping its own answer.

A burn's cost is dominated by its commit (a disk flush on PostgreSQL, the single writer on
SQLite), not by its rows. When many callers burn at once, one writer thread gathers what has
queued up (at most ``max_batch`` burns, waiting at most ``max_wait`` seconds for company once the
first has arrived) and applies them with :func:`connector.ledger.burns.burn_batch`: one
transaction, set-based writes, the batch's accounts locked in a stable order so that batches of
several processes never deadlock. Each burn is still decided alone, in arrival order: a refused
burn writes nothing and is answered with its own error, a replayed key gets its first result.

Should the batch's transaction fail as a whole (a lost connection, a lock timeout, a database
error one request provoked), every burn of it is retried alone, so a burn that fails fails alone.
The queue, the threads and the answering are ``connector.group_writer``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from connector.group_writer import GroupWriter
from connector.ledger.models import BurnRequest, BurnResult
from connector.ledger.service import Ledger


@dataclass(frozen=True)
class GroupCommitSettings:
    max_batch: int = 128
    max_wait: float = 0.002  # seconds a batch waits for company after its first burn
    writers: int = 1  # threads writing batches; more overlap one batch's commit with the next


class GroupCommitter(GroupWriter[BurnRequest, BurnResult]):
    """Hands burns to writer threads and answers each caller through its own future."""

    def __init__(self, ledger: Ledger, settings: GroupCommitSettings | None = None) -> None:
        chosen = settings or GroupCommitSettings()
        super().__init__(
            "burn writer",
            max_batch=chosen.max_batch,
            max_wait=chosen.max_wait,
            writers=chosen.writers,
        )
        self._ledger = ledger

    def burn(self, request: BurnRequest) -> BurnResult:
        return self.submit(request).result()

    def _write_many(self, items: list[BurnRequest]) -> list[BurnResult | BaseException]:
        answers: list[BurnResult | BaseException] = []
        for outcome in self._ledger.burn_batch(items):
            if outcome.error is not None:
                answers.append(outcome.error)
            else:
                assert outcome.result is not None
                answers.append(outcome.result)
        return answers

    def _write_one(self, item: BurnRequest) -> BurnResult:
        return self._ledger.burn(item)
