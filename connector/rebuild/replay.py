"""Replaying the steps into the scratch database through the same code paths the live
database went through (apply_events, grant, burn, set_rate, expire, recognize, close_period).

A burn is replayed with overage allowed: a burn the live database accepted is never refused
here, so a shortfall shows as a difference in its overage and allocations instead of stopping
the rebuild. A step that fails is reported and the replay goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, update

from connector.errors import CreditsyncError
from connector.events import SourceKey
from connector.ledger import burns, expiry, manual, pools, rates
from connector.ledger.burns import BurnPolicy, PlanPolicies
from connector.ledger.models import PoolStatus
from connector.rebuild.scratch import PoolIds, PoolKey
from connector.rebuild.steps import (
    ApplyEvents,
    Burn,
    Close,
    Expire,
    Grant,
    Recognize,
    SetRate,
    Step,
    TakeBack,
)
from connector.recognition.closing import close_period
from connector.recognition.gl import GLResolver
from connector.recognition.run import recognize
from connector.store.tables import pools as pools_table
from connector.sync.apply import apply_events
from mappings.model import MappingSet

Progress = Callable[[int, int], None]
BURN_BATCH = 500


@dataclass
class Replay:
    engine: Engine
    ids: PoolIds
    mappings: Callable[[str | None], MappingSet]
    gl: GLResolver
    plans: PlanPolicies
    timezone: str
    errors: list[str] = field(default_factory=list)

    def _burn_policy(self, plan: str | None) -> BurnPolicy:
        chosen = self.plans(plan)
        return BurnPolicy(consumption_order=chosen.consumption_order, allow_overage=True)

    def _in_transaction(self, step: Step, conn: Connection) -> None:
        if isinstance(step, SetRate):
            made = rates.set_rate(
                conn, step.action, step.credits_per_unit, step.effective_from, step.note
            )
            if made.version != step.version:
                self.errors.append(f"{step.label}: rebuilt as version {made.version}")
        elif isinstance(step, ApplyEvents):
            apply_events(conn, step.connection, step.events, self.mappings(step.mapping_version))
            self.ids.align(conn)
        elif isinstance(step, Grant):
            pools.grant(conn, step.request, now=step.at)
            self.ids.align(conn)
        elif isinstance(step, Burn):
            burns.burn(conn, step.request, None, self._burn_policy)
        elif isinstance(step, TakeBack):
            self._take_back(step, conn)
        elif isinstance(step, Expire):
            while expiry.expire(conn, step.until)[0]:
                pass
        elif isinstance(step, Close):
            close_period(conn, step.period, step.timezone, now=step.closed_at)

    def _take_back(self, step: TakeBack, conn: Connection) -> None:
        platform, object_id, line, part = step.pool
        source = SourceKey(platform=platform, object_id=object_id, line_id=line)
        pool = pools.find_by_source(conn, source, part)
        if pool is None:
            self.errors.append(f"{step.label}: the pool was not rebuilt")
            return
        author = manual.Author(step.idempotency_key, step.actor, step.reason)
        if step.operation == manual.Operation.VOID:
            manual.void(conn, pool.id, author, step.occurred_at)
        elif step.credits > 0:
            manual.adjust(conn, pool.id, step.credits, author, step.occurred_at)

    def _one(self, step: Step, conn: Connection | None = None) -> None:
        try:
            if isinstance(step, Recognize):
                recognize(
                    self.engine,
                    step.through,
                    self.gl,
                    step.mode,
                    timezone=self.timezone,
                    now=step.started_at,
                )
            elif conn is not None:
                self._in_transaction(step, conn)
            else:
                with self.engine.begin() as own:
                    self._in_transaction(step, own)
        except CreditsyncError as exc:
            self.errors.append(f"{step.label}: {exc.message}")

    def run(self, steps: Sequence[Step], progress: Progress | None = None) -> None:
        done = 0
        index = 0
        while index < len(steps):
            step = steps[index]
            if isinstance(step, Burn):  # consecutive burns share a transaction
                batch = [step]
                while (
                    len(batch) < BURN_BATCH
                    and index + len(batch) < len(steps)
                    and isinstance(steps[index + len(batch)], Burn)
                ):
                    batch.append(steps[index + len(batch)])  # type: ignore[arg-type]
                with self.engine.begin() as conn:
                    for burn in batch:
                        self._one(burn, conn)
                index += len(batch)
                done += len(batch)
            else:
                self._one(step)
                index += 1
                done += 1
            if progress:
                progress(done, len(steps))

    def expire_quietly(self, keys: Sequence[PoolKey]) -> None:
        """Pools the live database expired with nothing left: no entry records when, and
        nothing but their status depends on it."""
        if not keys:
            return
        live_ids = [self.ids.live_ids[key] for key in keys if key in self.ids.live_ids]
        with self.engine.begin() as conn:
            conn.execute(
                update(pools_table)
                .where(
                    pools_table.c.id.in_(live_ids),
                    pools_table.c.credits_remaining == 0,
                    pools_table.c.status.in_([PoolStatus.ACTIVE.value, PoolStatus.EXHAUSTED.value]),
                )
                .values(status=PoolStatus.EXPIRED.value)
            )
