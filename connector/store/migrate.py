"""Apply and inspect Alembic migrations programmatically (no alembic.ini needed).

Every command checks that the database is at the newest revision before it runs. That check
reads the revision ids straight from the migration files and the ``alembic_version`` table, so a
command on a current database never imports Alembic (a fifth of a short command's start-up);
Alembic is loaded only to migrate, and to settle a history this quick reading cannot.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the revision ids are read without SQLAlchemy (see connector.store.direct)
    from alembic.config import Config
    from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^revision = "([^"]+)"$', re.MULTILINE)
_DOWN = re.compile(r'^down_revision = (?:"([^"]+)"|None)$', re.MULTILINE)


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revision() -> str | None:
    """The newest revision: the one no other migration names as its predecessor."""
    revisions: set[str] = set()
    predecessors: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found, down = _REVISION.search(source), _DOWN.search(source)
        if found is None or down is None:
            return _alembic_head()  # a file this reading does not understand: ask Alembic
        revisions.add(found.group(1))
        if down.group(1):
            predecessors.add(down.group(1))
    heads = revisions - predecessors
    return heads.pop() if len(heads) == 1 else _alembic_head()


def _alembic_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's revision; None for a database never migrated."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with engine.connect() as connection:
        try:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
            versions = list(found)
        except DBAPIError:
            return None  # no alembic_version table yet
    return versions[0] if len(versions) == 1 else None


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
