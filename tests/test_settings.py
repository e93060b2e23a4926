"""Settings from the environment and creditsync.toml, and the server commands built on them:
``config show`` (secrets masked), ``serve`` and ``scheduler``."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
import uvicorn
from typer.testing import CliRunner

from connector.cli import server_cmd
from connector.scheduler import LEASE, Scheduler
from connector.settings import Settings
from connector.store.engine import make_engine
from connector.sync.lease import try_acquire

STRIPE_KEY = "sk_test_51Hv8CreditsyncSecretKeyValue"
WEBHOOK_SECRET = "whsec_9f8e7d6c5b4a39281706"
API_TOKEN = "tok_live_a1b2c3d4e5f6"
DB_PASSWORD = "pg-pass-7731"


@pytest.fixture(autouse=True)
def clean(clean_env: None) -> None:
    """Each test in its own folder (no creditsync.toml around) with no CREDITSYNC_ variables."""


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """creditsync (test root)."""

    server_cmd.register(app)
    return app


def set_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CREDITSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("CREDITSYNC_PORT", "9123")
    monkeypatch.setenv(
        "CREDITSYNC_API_TOKENS",
        json.dumps([{"token": API_TOKEN, "scopes": ["burn", "read"], "name": "product"}]),
    )
    monkeypatch.setenv(
        "CREDITSYNC_CONNECTIONS",
        json.dumps(
            {
                "stripe": {
                    "platform": "stripe",
                    "settings": {"api_key": STRIPE_KEY, "webhook_secrets": [WEBHOOK_SECRET]},
                    "sync_every_minutes": 10,
                }
            }
        ),
    )
    monkeypatch.setenv("CREDITSYNC_SCHEDULE__JITTER_SECONDS", "5")


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    set_env(monkeypatch, tmp_path)
    settings = Settings()
    assert settings.database_url.endswith("env.db")
    assert settings.port == 9123
    assert settings.api_tokens[0].token.get_secret_value() == API_TOKEN
    assert settings.api_tokens[0].scopes == ["burn", "read"]
    assert settings.connections["stripe"].sync_every_minutes == 10
    assert settings.schedule.jitter_seconds == 5
    assert settings.schedule.post_every_minutes == 5  # untouched defaults stay


def test_settings_come_from_creditsync_toml_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "creditsync.toml").write_text(
        'host = "0.0.0.0"\nport = 8800\n'
        "[schedule]\nexpire_every_minutes = 30\n"
        '[[api_tokens]]\ntoken = "from-toml-7f3a9c1e5b2d8f4a6c0e"\nscopes = ["admin"]\n'
        '[connections.files]\nplatform = "files"\nsettings = { path = "in.jsonl" }\n'
    )
    monkeypatch.setenv("CREDITSYNC_PORT", "8900")
    settings = Settings()
    assert settings.host == "0.0.0.0"
    assert settings.port == 8900
    assert settings.schedule.expire_every_minutes == 30
    assert settings.api_tokens[0].scopes == ["admin"]
    assert settings.connections["files"].settings == {"path": "in.jsonl"}


def test_config_show_prints_the_effective_settings_with_every_secret_masked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    set_env(monkeypatch, tmp_path)
    monkeypatch.setenv(
        "CREDITSYNC_DATABASE_URL", f"postgresql://creditsync:{DB_PASSWORD}@db.internal/credits"
    )
    result = CliRunner().invoke(cli(), ["config", "show"])
    assert result.exit_code == 0, result.output
    for secret in (STRIPE_KEY, WEBHOOK_SECRET, API_TOKEN, DB_PASSWORD):
        assert secret not in result.output
    shown = json.loads(result.output)
    assert shown["port"] == 9123
    assert shown["api_tokens"][0]["token"] == "**********"
    assert shown["api_tokens"][0]["scopes"] == ["burn", "read"]
    stripe = shown["connections"]["stripe"]["settings"]
    assert stripe["api_key"] == "**********"
    assert stripe["webhook_secrets"] == ["**********"]
    assert shown["database_url"] == "postgresql://creditsync:***@db.internal/credits"


def test_invalid_settings_are_listed_without_their_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "CREDITSYNC_API_TOKENS", json.dumps([{"token": API_TOKEN, "scopes": ["superuser"]}])
    )
    monkeypatch.setenv("CREDITSYNC_PORT", "not-a-port")
    result = CliRunner().invoke(cli(), ["config", "show"])
    assert result.exit_code == 2
    assert "api_tokens.0.scopes" in result.output
    assert "port" in result.output
    assert API_TOKEN not in result.output


def captured_serve(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str]
) -> uvicorn.Server:
    set_env(monkeypatch, tmp_path)
    servers: list[uvicorn.Server] = []
    monkeypatch.setattr(
        server_cmd, "run_server", lambda server, sockets=None: servers.append(server)
    )
    result = CliRunner().invoke(cli(), ["serve", *args])
    assert result.exit_code == 0, result.output
    assert len(servers) == 1
    return servers[0]


def test_serve_builds_the_app_with_its_scheduler(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = captured_serve(monkeypatch, tmp_path, [])
    assert (server.config.host, server.config.port) == ("127.0.0.1", 9123)
    app: Any = server.config.app
    assert isinstance(app.state.scheduler, Scheduler)
    assert {spec.id for spec in app.state.scheduler.specs} >= {"sync:stripe", "expire"}
    assert app.state.runtime.settings.port == 9123


def test_serve_options_override_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = captured_serve(
        monkeypatch, tmp_path, ["--host", "127.0.0.2", "--port", "8124", "--no-scheduler"]
    )
    assert (server.config.host, server.config.port) == ("127.0.0.2", 8124)
    app: Any = server.config.app
    assert app.state.scheduler is None


def test_serve_warns_when_no_token_is_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CREDITSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setattr(server_cmd, "run_server", lambda server, sockets=None: None)
    result = CliRunner().invoke(cli(), ["serve", "--no-scheduler"])
    assert result.exit_code == 0
    assert "no api_tokens configured" in result.output


def already_set() -> threading.Event:
    """A stop event that is already set: the scheduler command returns at once."""
    event = threading.Event()
    event.set()
    return event


def test_the_scheduler_command_runs_the_jobs_and_frees_the_lease_on_exit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    set_env(monkeypatch, tmp_path)
    monkeypatch.setattr(server_cmd, "stop_event", already_set)
    result = CliRunner().invoke(cli(), ["scheduler"])
    assert result.exit_code == 0, result.output
    for job in ("sync:stripe", "expire", "recognize", "post", "reconcile"):
        assert job in result.output
    assert "leader" in result.output
    assert "scheduler stopped" in result.output
    engine = make_engine(f"sqlite:///{tmp_path / 'env.db'}")
    assert try_acquire(engine, LEASE, "someone-else", timedelta(seconds=5))  # lease was freed
    engine.dispose()


def test_the_scheduler_command_refuses_a_disabled_schedule(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CREDITSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("CREDITSYNC_SCHEDULE__ENABLED", "false")
    result = CliRunner().invoke(cli(), ["scheduler"])
    assert result.exit_code == 1
    assert "disabled" in result.output


def test_the_output_folder_goes_with_a_sqlite_database_unless_set(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'books' / 'creditsync.db'}"
    assert Settings(database_url=database).output_dir == tmp_path / "books" / "out"
    chosen = Settings(database_url=database, output_dir=tmp_path / "elsewhere")
    assert chosen.output_dir == tmp_path / "elsewhere"
    server = Settings(database_url="postgresql://creditsync@db/creditsync")
    assert server.output_dir == Path(".creditsync/out")
