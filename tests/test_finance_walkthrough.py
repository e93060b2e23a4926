"""The README's month-end close for finance runs verbatim on the demo's database, twice."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from connector.cli import app
from connector.demo.run import run_demo
from connector.settings import get_settings

README = Path(__file__).resolve().parents[1] / "README.md"


def walkthrough() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Month-end close for finance", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the walkthrough's commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_month_end_walkthrough_runs_verbatim_on_the_demo_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_demo(Path(".creditsync/demo"), customers=8, burns_per_customer=8)
    result.runtime.engine.dispose()
    commands = walkthrough()
    assert commands[0].startswith("export CREDITSYNC_DATABASE_URL=")
    for run in range(2):  # a month-end script runs twice without failing
        get_settings.cache_clear()
        for line in commands:
            words = shlex.split(line)
            if words[0] == "export":
                name, value = words[1].split("=", 1)
                monkeypatch.setenv(name, value)
                continue
            assert words[0] == "creditsync", line
            get_settings.cache_clear()
            outcome = CliRunner().invoke(app, words[1:])
            assert outcome.exit_code == 0, f"run {run + 1}: {line}\n{outcome.output}"
            if line.endswith("--compact"):
                assert "ties" in outcome.output and "differs" not in outcome.output
    get_settings.cache_clear()
    book = load_workbook(tmp_path / "close-2026-04" / "rollforward.xlsx")
    assert book.sheetnames == ["rollforward", "notes"]
    assert (tmp_path / "close-2026-04" / "waterfall.png").read_bytes()[:4] == b"\x89PNG"
