"""Fixtures shared by the whole suite.

``engine`` is a migrated database, parametrised over SQLite and PostgreSQL so that every store
test runs on both. PostgreSQL gets a database of its own per test session (several sessions may
run at once on one server); each test starts from empty tables. Where PostgreSQL cannot be
reached the PostgreSQL half is skipped locally, and fails under CI=true.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from connector.store.engine import make_engine
from connector.store.migrate import upgrade
from connector.store.schema import metadata

# Property tests judge results, not speed: a loaded CI machine must not fail them on time.
settings.register_profile("creditsync", deadline=None, print_blob=True)
settings.load_profile("creditsync")

PG_URL = os.environ.get("CREDITSYNC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_admin_engine() -> Engine:
    return make_engine(PG_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    try:
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI and is not reachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    name = f"creditsync_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty, migrated database of each supported kind."""
    if request.param == "sqlite":
        path = tmp_path / "creditsync.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_url")
        engine = make_engine(url)
        _truncate_all(engine)
        engine.dispose()
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """SQLite only, for tests whose subject is not the database."""
    path = tmp_path / "creditsync.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def cli_settings(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the CLI's settings at this test's database and output folder; yield the URL.

    The working directory moves to ``tmp_path`` so that no stray creditsync.toml is read, and
    the cached settings are dropped before and after so that no test sees another's.
    """
    from connector.settings import get_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CREDITSYNC_DATABASE_URL", db_url)
    monkeypatch.setenv("CREDITSYNC_OUTPUT_DIR", str(tmp_path / "out"))
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Settings from nothing but the test: no CREDITSYNC_ variable from outside (the PostgreSQL
    URL of the tests aside), no creditsync.toml around (the working directory is ``tmp_path``),
    nothing cached before or after."""
    from connector.settings import get_settings

    for name in list(os.environ):
        if name.startswith("CREDITSYNC_") and name != "CREDITSYNC_TEST_PG_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
