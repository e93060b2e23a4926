"""Mapping versions in the database (both backends) and reloading without a restart."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from connector.errors import CreditsyncError, NotFound
from connector.settings import EXAMPLE_MAPPINGS
from connector.store.mapping_versions import load_version, record_version, recorded_versions
from connector.store.tables import mapping_versions
from mappings.holder import MappingStore
from mappings.loader import MappingInvalid, load_mappings

BASE = Path(__file__).parent / "data" / "mappings" / "base.toml"


def test_recording_a_version_is_idempotent_and_reads_back(engine: Engine) -> None:
    mappings = load_mappings([EXAMPLE_MAPPINGS])
    with engine.begin() as conn:
        assert record_version(conn, mappings) == mappings.version
    with engine.begin() as conn:
        assert record_version(conn, mappings) == mappings.version
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(mapping_versions)).scalar() == 1
        loaded = load_version(conn, mappings.version)
        assert [v for v, _ in recorded_versions(conn)] == [mappings.version]
    assert loaded == mappings
    assert loaded.version == mappings.version
    entry = loaded.entry("stripe", "credits_100k")
    assert entry is not None and loaded.breakage_for(entry).rate == "0.25"
    assert loaded.gl_accounts("EUR", "acme-gmbh").revenue == "DE-8400"


def test_old_versions_stay_readable_after_the_files_change(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(BASE.read_text())
    old = load_mappings([path])
    path.write_text(BASE.read_text().replace("credits = 1_000", "credits = 2_000"))
    new = load_mappings([path])
    with engine.begin() as conn:
        record_version(conn, old)
        record_version(conn, new)
    with engine.connect() as conn:
        first = load_version(conn, old.version).entry("stripe", "credits_1k")
        second = load_version(conn, new.version).entry("stripe", "credits_1k")
    assert first is not None and second is not None
    assert (first.credits, second.credits) == (1_000, 2_000)


def test_unknown_and_altered_versions_are_refused(engine: Engine) -> None:
    mappings = load_mappings([BASE])
    with engine.begin() as conn:
        record_version(conn, mappings)
        content = mappings.model_dump(mode="json")
        content["catalog"][0]["credits"] = 999_999
        conn.execute(update(mapping_versions).values(content=content))
    with engine.connect() as conn:
        with pytest.raises(NotFound, match="never recorded"):
            load_version(conn, "0" * 64)
        with pytest.raises(CreditsyncError, match="does not match its stored content"):
            load_version(conn, mappings.version)


def test_reload_swaps_in_valid_files_and_keeps_the_last_good_set(tmp_path: Path) -> None:
    folder = tmp_path / "maps"
    shutil.copytree(EXAMPLE_MAPPINGS, folder)
    store = MappingStore([folder])
    first = store.current
    stripe = folder / "stripe.toml"
    stripe.write_text(stripe.read_text().replace("credits = 1_000\n", "credits = 1_500\n", 1))
    second = store.reload()
    assert second.version != first.version and store.current is second
    entry = store.current.entry("stripe", "credits_1k")
    assert entry is not None and entry.credits == 1_500
    stripe.write_text(stripe.read_text().replace("credits = 1_500", "credits = -1"))
    with pytest.raises(MappingInvalid, match="credits per unit must be a positive whole number"):
        store.reload()
    assert store.current is second


def test_readers_always_see_a_whole_set_while_reloading(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(BASE.read_text())
    store = MappingStore([path])
    versions = {store.current.version}
    seen: set[str] = set()
    broken: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            current = store.current
            if current.entry("stripe", "credits_1k") is None:
                broken.append(current.version)
            seen.add(current.version)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        for credits in (2_000, 3_000, 4_000):
            path.write_text(BASE.read_text().replace("1_000", f"{credits}"))
            versions.add(store.reload().version)
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert len(versions) == 4
    assert broken == []
    assert seen and seen <= versions
