"""How long the command line takes to start, as a ratio to a bare interpreter.

``creditsync --help`` and ``creditsync balance`` are what an operator types most; each is run as
a fresh process, alternating with ``python -c pass`` on the same machine at the same moment, so
that the ratio (not the seconds, which depend on the machine and its load) is the figure to
compare between versions. ``balance`` runs against a fresh SQLite database in a temporary
folder and includes opening it; the interpreter's own start is in both sides of the ratio.

    python -m bench.cli_startup [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

CLI = [sys.executable, "-c", "from connector.cli import main; main()"]
COMMANDS: dict[str, list[str]] = {
    "creditsync --help": ["--help"],
    "creditsync balance": ["balance", "nobody"],
}
BASELINE = [sys.executable, "-c", "pass"]
GOAL_SECONDS = 0.5  # on an idle machine; the ratio is the portable figure


def _seconds(argv: Sequence[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def measure(runs: int, folder: Path) -> dict[str, tuple[float, float]]:
    """Median seconds of each command and of the bare interpreter run next to it."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CREDITSYNC_")},
        "CREDITSYNC_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
        "CREDITSYNC_CONFIG": str(folder / "none.toml"),
    }
    _seconds([*CLI, "db", "upgrade"], env)  # migrate once: every run below opens a current db
    found: dict[str, tuple[float, float]] = {}
    for name, args in COMMANDS.items():
        ours, base = [], []
        for _ in range(runs):
            base.append(_seconds(BASELINE, env))
            ours.append(_seconds([*CLI, *args], env))
        found[name] = (statistics.median(ours), statistics.median(base))
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each, median taken")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = measure(args.runs, Path(tmp))
    print(f"{'':24}{'seconds':>10}{'python -c pass':>16}{'ratio':>8}")
    for name, (ours, base) in results.items():
        verdict = "under" if ours < GOAL_SECONDS else "over"
        print(
            f"{name:24}{ours:>10.3f}{base:>16.3f}{ours / base:>7.1f}x"
            f"  ({verdict} the {GOAL_SECONDS} s goal on this machine now)"
        )


if __name__ == "__main__":
    main()
