"""``rebuild``: replay the live database's inputs into a scratch database and diff the two.

The live database is only read, in one consistent snapshot that never blocks its writers, so
a rebuild of a large history runs beside burns and syncs (and what it compares is what it
replayed). The scratch database is a temporary file unless a path is given (then it stays
there, to be inspected).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine

from connector.ledger.burns import PlanPolicies
from connector.rebuild import replay, scratch, snapshot, timeline
from connector.rebuild.diff import Mismatch, diff
from connector.recognition.gl import GLResolver
from connector.store.mapping_versions import load_version
from connector.store.reading import read_only
from mappings.model import MappingSet

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RebuildResult:
    mismatches: list[Mismatch]
    errors: list[str]  # steps that could not be replayed
    steps: int
    skipped: int  # purchases left out: open exceptions in the live database
    compared: dict[str, int]  # rows compared per kind (live side)
    scratch: Path | None  # where the scratch database was kept

    @property
    def verified(self) -> bool:
        return not self.mismatches and not self.errors


def _mapping_source(reading: Connection, current: MappingSet) -> Callable[[str | None], MappingSet]:
    loaded: dict[str, MappingSet] = {current.version: current}

    def mappings(version: str | None) -> MappingSet:
        if version is None:
            return current
        if version not in loaded:
            loaded[version] = load_version(reading, version)
        return loaded[version]

    return mappings


def rebuild(
    live: Engine,
    *,
    current: MappingSet,
    gl: GLResolver,
    plans: PlanPolicies,
    timezone: str = "UTC",
    keep: Path | None = None,
    progress: Progress | None = None,
) -> RebuildResult:
    """Rebuild everything derived from the live database's inputs and diff it against them.

    ``current``: the mappings in force, for purchases that left no mapping version behind;
    ``gl`` and ``plans``: GL accounts and burn policies, as the live database used them.
    """
    with (
        tempfile.TemporaryDirectory(prefix="creditsync-rebuild-") as folder,
        read_only(live) as reading,
    ):
        path = keep or Path(folder) / "rebuild.db"
        engine = scratch.open_scratch(path)
        try:
            steps = timeline.build(reading)
            ids = scratch.PoolIds(scratch.live_pool_ids(reading))
            with engine.begin() as target:
                scratch.seed(reading, target)
            work = replay.Replay(
                engine=engine,
                ids=ids,
                mappings=_mapping_source(reading, current),
                gl=gl,
                plans=plans,
                timezone=steps.timezone or timezone,
            )
            work.run(steps.steps, progress)
            work.expire_quietly(steps.expired_quietly)
            before = snapshot.snapshot(reading)
            with engine.connect() as conn:
                after = snapshot.snapshot(conn)
        finally:
            engine.dispose()
    return RebuildResult(
        mismatches=diff(before, after),
        errors=work.errors,
        steps=len(steps.steps),
        skipped=steps.skipped,
        compared={
            "pools": len(before.pools),
            "burns": len(before.burns),
            "refunds": len(before.refunds),
            "journal entries": len(before.journal),
        },
        scratch=keep,
    )
