"""The database URL read without pydantic (``connector.config_file``) is the one ``Settings``
reads, from every source, and it answers None where only ``Settings`` can explain."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config_file import DEFAULT_DATABASE_URL, database_url
from connector.settings import Settings


@pytest.mark.usefixtures("clean_env")
def test_the_default_when_nothing_is_set() -> None:
    assert database_url() == Settings().database_url == DEFAULT_DATABASE_URL


@pytest.mark.usefixtures("clean_env")
def test_the_config_file_below_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('database_url = "sqlite:///from-file.db"\ntimezone = "UTC"\n')
    monkeypatch.setenv("CREDITSYNC_CONFIG", str(config))
    assert database_url() == Settings().database_url == "sqlite:///from-file.db"
    monkeypatch.setenv("creditsync_database_url", "sqlite:///from-env.db")  # any case, as Settings
    assert database_url() == Settings().database_url == "sqlite:///from-env.db"


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    "content", ["database_url = [1, 2]\n", "database_url = \n", "not toml at all ["]
)
def test_a_file_only_the_full_settings_can_explain(tmp_path: Path, content: str) -> None:
    (tmp_path / "creditsync.toml").write_text(content)
    assert database_url() is None
