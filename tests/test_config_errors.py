"""Configuration mistakes are one line: ``error: <setting>: <problem> (<fix>)``, exit status 2,
no traceback, and never the value of a secret."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from connector.cli import app
from connector.settings import get_settings, mask_url

SECRET = "sk_test_51Qz9SecretValueNeverPrinted"
PASSWORD = "pw-Never-Printed-4417"


@pytest.fixture(autouse=True)
def clean(clean_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No outside configuration, and a database that works unless a test says otherwise."""
    monkeypatch.setenv("CREDITSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'ok.db'}")


def run(*args: str, **env: str) -> Result:
    get_settings.cache_clear()
    return CliRunner().invoke(app, list(args), env=env)


def assert_one_line(result: Result, starts: str, *secrets: str) -> str:
    """The refusal is exactly one line on stderr, starting with ``starts``; exit status 2."""
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {starts}"), lines[0]
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception)  # a clean exit, nothing escaped
    for secret in (SECRET, PASSWORD, *secrets):
        assert secret not in result.output
    return lines[0]


def test_an_unknown_timezone() -> None:
    line = assert_one_line(
        run("balance", "acme", CREDITSYNC_TIMEZONE="Mars/Olympus"), "timezone: unknown timezone"
    )
    assert "CREDITSYNC_TIMEZONE" in line


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("mappings/examples", "mapping_paths: is not valid JSON"),
        ('["/no/such/mappings"]', "mapping_paths: /no/such/mappings"),
    ],
)
def test_bad_mapping_paths(value: str, problem: str) -> None:
    burn = run("burn", "acme", "query", "1", CREDITSYNC_MAPPING_PATHS=value)  # plans: mappings
    assert_one_line(burn, problem)


def test_api_tokens_that_are_not_json() -> None:
    assert_one_line(
        run("config", "show", CREDITSYNC_API_TOKENS=f"[{{token: {SECRET}"),
        "api_tokens: is not valid JSON",
    )


@pytest.mark.parametrize("token", ["k", "tok_admin_only_23_chars"])
def test_a_short_admin_token(token: str) -> None:
    tokens = json.dumps([{"token": token, "scopes": ["admin"]}])
    line = assert_one_line(
        run("config", "show", CREDITSYNC_API_TOKENS=tokens),
        "api_tokens.0: an admin token needs at least 24 characters",
        *([token] if len(token) > 1 else []),
    )
    assert f"this one has {len(token)}" in line


def test_a_24_character_admin_token_is_accepted() -> None:
    tokens = json.dumps([{"token": "a" * 24, "scopes": ["admin"]}])
    assert run("config", "show", CREDITSYNC_API_TOKENS=tokens).exit_code == 0


def test_a_typo_in_a_connection_never_echoes_its_credentials() -> None:
    connections = {
        "stripe": {"platform": "stripe", "settings": {"api_key": SECRET}, "sync_every_minute": 5}
    }
    assert_one_line(
        run("config", "show", CREDITSYNC_CONNECTIONS=json.dumps(connections)),
        "connections.stripe.sync_every_minute: Extra inputs are not permitted",
    )


@pytest.mark.parametrize(
    ("connection", "problem"),
    [
        ({"platform": "stripe", "settings": {"api_kye": SECRET}}, "settings.api_kye: "),
        ({"platform": "files", "settings": {"pth": "in.jsonl"}}, "settings.path: is required"),
    ],
)
def test_settings_an_adapter_refuses_name_their_connection(
    connection: dict[str, object], problem: str
) -> None:
    result = run("sync", "billing", CREDITSYNC_CONNECTIONS=json.dumps({"billing": connection}))
    assert_one_line(result, f"connections.billing.{problem}")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (f"mysql://app:{PASSWORD}@db.internal/credits", "'mysql' is not a supported database"),
        (f"postgresql+asyncpg://app:{PASSWORD}@db/x", "'postgresql+asyncpg' is not a supported"),
        ("not a url", "is not a database URL"),
    ],
)
def test_an_unsupported_database_url(url: str, problem: str) -> None:
    assert_one_line(run("balance", "acme", CREDITSYNC_DATABASE_URL=url), f"database_url: {problem}")


def test_a_sqlite_file_in_a_missing_folder_is_refused_not_created(tmp_path: Path) -> None:
    folder = tmp_path / "typo" / "here"
    line = assert_one_line(
        run("balance", "acme", CREDITSYNC_DATABASE_URL=f"sqlite:///{folder / 'c.db'}"),
        "database_url: the folder",
    )
    assert str(folder) in line
    assert not folder.exists() and not folder.parent.exists()


def test_a_postgresql_database_that_does_not_exist(pg_url: str) -> None:
    url = (
        make_url(pg_url)
        .set(database="creditsync_no_such_database", password=PASSWORD)
        .render_as_string(hide_password=False)
    )
    line = assert_one_line(
        run("balance", "acme", CREDITSYNC_DATABASE_URL=url), "database_url: cannot open"
    )
    assert "does not exist" in line and mask_url(url) in line


def test_a_database_server_that_cannot_be_reached() -> None:
    url = f"postgresql://app:{PASSWORD}@127.0.0.1:1/credits"
    line = assert_one_line(
        run("balance", "acme", CREDITSYNC_DATABASE_URL=url), "database_url: cannot open"
    )
    assert "127.0.0.1" in line


def test_a_config_file_that_is_not_toml(tmp_path: Path) -> None:
    (tmp_path / "creditsync.toml").write_text(f'api_key = "{SECRET}\n')
    assert_one_line(run("balance", "acme"), "creditsync.toml: is not valid TOML")


def test_an_unknown_log_level() -> None:
    assert_one_line(run("serve", "--log-level", "loud"), "--log-level: 'loud' is not a log level")


def test_config_show_masks_credentials_inside_urls() -> None:
    result = run(
        "config",
        "show",
        CREDITSYNC_NOTIFY_URL=f"https://ops:{PASSWORD}@hooks.example.com/a?token={SECRET}&ch=x",
        CREDITSYNC_CONNECTIONS=json.dumps(
            {
                "files": {
                    "platform": "files",
                    "settings": {"base_url": f"https://{SECRET}@files.example.com/in"},
                }
            }
        ),
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["notify_url"] == "https://ops:***@hooks.example.com/a?token=***&ch=x"
    assert shown["connections"]["files"]["settings"]["base_url"] == (
        "https://***@files.example.com/in"
    )
    assert SECRET not in result.output and PASSWORD not in result.output


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.com/a", "https://hooks.example.com/a"),
        (
            "https://h.example.com/x?api_key=1&sig=2&page=3",
            "https://h.example.com/x?api_key=***&sig=***&page=3",
        ),
        ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
        ("postgresql://u:p@h:5432/d", "postgresql://u:***@h:5432/d"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_the_installed_command_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    """The real process, as an operator runs it: stderr is the one line and nothing else."""
    env = {
        "PATH": "/usr/bin:/bin",
        "CREDITSYNC_DATABASE_URL": f"postgresql://app:{PASSWORD}@127.0.0.1:1/credits",
        "CREDITSYNC_CONNECTIONS": json.dumps({"s": {"platform": "stripe", "api_key": SECRET}}),
    }
    done = subprocess.run(
        [sys.executable, "-c", "from connector.cli import main; main()", "balance", "acme"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: connections.s.api_key: "), done.stderr
    assert SECRET not in done.stderr and PASSWORD not in done.stderr
