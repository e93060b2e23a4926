"""The command line starts without the libraries only some commands need: charts, XLSX, the
HTTP server, the Stripe SDK. Checked by what a fresh interpreter has imported, not by timing
(bench/cli_startup.py measures the time)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("matplotlib", "openpyxl", "fastapi", "starlette", "stripe", "uvicorn", "apscheduler")

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
