"""The command line starts without the libraries only some commands need: charts, XLSX, the
HTTP server, the Stripe SDK. Checked by what a fresh interpreter has imported, not by timing
(bench/cli_startup.py measures the time)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "matplotlib",
    "openpyxl",
    "fastapi",
    "starlette",
    "stripe",
    "uvicorn",
    "apscheduler",
    "sqlalchemy",
    "pydantic",
)

PROBE = """
import json, sys
import connector.cli
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_importing_the_cli_loads_none_of_the_heavy_libraries() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(json.loads(done.stdout))
    assert "typer" in loaded and "connector" in loaded  # the probe did import the CLI
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


BALANCE_PROBE = """
import atexit, json, sys
from pathlib import Path
out = Path(sys.argv[1])
atexit.register(lambda: out.write_text(json.dumps(sorted({n.split(".")[0] for n in sys.modules}))))
sys.argv = ["creditsync", "balance", "nobody"]
from connector.cli import main
main()
"""


def _balance_loads(database: Path, folder: Path) -> tuple[set[str], str]:
    """The top-level modules ``creditsync balance nobody`` loaded, and what it printed."""
    loaded_file = folder / "loaded.json"
    env = {**os.environ, "CREDITSYNC_DATABASE_URL": f"sqlite:///{database}"}
    done = subprocess.run(
        [sys.executable, "-c", BALANCE_PROBE, str(loaded_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=folder,
    )
    return set(json.loads(loaded_file.read_text())), done.stderr


def test_balance_on_a_current_database_reads_it_without_sqlalchemy_or_the_settings_model(
    tmp_path: Path, sqlite_template: Path
) -> None:
    database = tmp_path / "current.db"
    shutil.copy(sqlite_template, database)
    loaded, said = _balance_loads(database, tmp_path)
    assert "account 'nobody' does not exist" in said  # the probe did read the database
    assert loaded.isdisjoint({"sqlalchemy", "alembic", "pydantic_settings"}), loaded


def test_balance_on_a_new_database_takes_the_full_path_and_migrates_it(tmp_path: Path) -> None:
    database = tmp_path / "new" / "creditsync.db"
    database.parent.mkdir()
    loaded, said = _balance_loads(database, tmp_path)
    assert "account 'nobody' does not exist" in said
    assert {"sqlalchemy", "alembic"} <= loaded and database.is_file()
