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


def test_a_command_on_a_current_database_does_not_load_alembic(
    tmp_path: Path, sqlite_template: Path
) -> None:
    database = tmp_path / "current.db"
    shutil.copy(sqlite_template, database)
    loaded_file = tmp_path / "loaded.json"
    env = {**os.environ, "CREDITSYNC_DATABASE_URL": f"sqlite:///{database}"}
    subprocess.run(
        [sys.executable, "-c", BALANCE_PROBE, str(loaded_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    loaded = set(json.loads(loaded_file.read_text()))
    assert "sqlalchemy" in loaded  # the probe did reach the database
    assert "alembic" not in loaded
