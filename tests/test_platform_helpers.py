"""The shared adapter shapes: the retry loop, the multi-stream cursor, settings, basic auth."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

from connector.errors import InvalidInput
from connector.platform.basic_auth import authorized, credentials_of
from connector.platform.cursor import load_cursor
from connector.platform.retry import (
    Failure,
    PlatformRequestFailed,
    RetryPolicy,
    call_with_retry,
    retryable_status,
    seconds_to_wait,
)
from connector.platform.settings import load_adapter_settings


class Answer(Exception):
    def __init__(self, status: int, wait: str | None = None) -> None:
        self.status = status
        self.wait = wait


def classify(exc: BaseException) -> Failure | None:
    if not isinstance(exc, Answer):
        return None
    return Failure(
        retryable=retryable_status(exc.status),
        status=exc.status,
        code="busy" if exc.status == 429 else None,
        message=f"answered {exc.status}",
        wait=seconds_to_wait(exc.wait),
    )


def failing(statuses: list[int], wait: str | None = None) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def request() -> str:
        calls.append(1)
        if len(calls) <= len(statuses):
            raise Answer(statuses[len(calls) - 1], wait)
        return "ok"

    return calls, request


def test_retryable_answers_are_tried_again_with_the_wait_the_platform_asked_for() -> None:
    sleeps: list[float] = []
    calls, request = failing([429, 503], wait="7")
    policy = RetryPolicy(max_attempts=5, sleep=sleeps.append)
    result = call_with_retry(
        policy,
        classify,
        platform="Acme",
        method="get",
        path="/x",
        request=request,
    )
    assert result == "ok"
    assert len(calls) == 3
    assert sleeps == [7.0, 7.0]


def test_attempts_are_bounded_and_the_error_names_the_platform_and_the_answer() -> None:
    sleeps: list[float] = []
    calls, request = failing([429] * 10)
    policy = RetryPolicy(max_attempts=3, base_wait=0.5, max_wait=4.0, jitter=0, sleep=sleeps.append)
    with pytest.raises(PlatformRequestFailed) as failed:
        call_with_retry(policy, classify, platform="Acme", method="get", path="/x", request=request)
    assert len(calls) == 3 and len(sleeps) == 2
    assert all(0 < s <= 4.0 for s in sleeps)
    assert (
        str(failed.value)
        == "Acme GET /x still failing after 3 attempts (HTTP 429 (busy)): answered 429"
    )
    assert failed.value.retryable and failed.value.attempts == 3


def test_a_refusal_fails_at_once() -> None:
    calls, request = failing([400])
    with pytest.raises(PlatformRequestFailed, match=r"^Acme refused POST /y \(HTTP 400\)"):
        call_with_retry(
            RetryPolicy(sleep=lambda _: None),
            classify,
            platform="Acme",
            method="post",
            path="/y",
            request=request,
        )
    assert len(calls) == 1


def test_anything_but_a_platform_failure_is_raised_untouched() -> None:
    def broken() -> str:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        call_with_retry(
            RetryPolicy(), classify, platform="Acme", method="get", path="/", request=broken
        )


def test_a_wait_is_capped_by_the_policy() -> None:
    sleeps: list[float] = []
    _, request = failing([503], wait="3600")
    call_with_retry(
        RetryPolicy(max_wait=30, sleep=sleeps.append),
        classify,
        platform="A",
        method="get",
        path="/",
        request=request,
    )
    assert sleeps == [30]


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    assert seconds_to_wait("2.5") == 2.5
    assert seconds_to_wait("Mon, 30 Nov 2026 12:00:10 GMT", now) == 10
    assert seconds_to_wait("Mon, 30 Nov 2026 11:00:00 GMT", now) == 0
    assert seconds_to_wait("-1") is None
    assert seconds_to_wait("soon") is None
    assert seconds_to_wait(None) is None


STREAMS = ("invoices", "credit_notes", "events")


def test_a_cursor_walks_every_stream_and_remembers_where_each_ended() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cursor = load_cursor(None, STREAMS, "Acme").begin(now, 300, start)
    assert cursor.run is not None and cursor.run.stream == "invoices"
    cursor = cursor.after_page("invoices", "offset-2", has_more=True)
    assert cursor.run is not None and cursor.run.page_after == "offset-2"
    resumed = load_cursor(cursor.dump(), STREAMS, "Acme").begin(now, 300, start)
    assert resumed == cursor  # a crash resumes with the next page
    for stream in STREAMS:
        resumed = resumed.after_page(stream, None, has_more=False)
    assert resumed.run is None
    assert resumed.since == dict.fromkeys(STREAMS, int(now.timestamp()))
    again = load_cursor(resumed.dump(), STREAMS, "Acme").begin(now, 300, start)
    assert again.run is not None
    assert again.run.window("events") == (int(now.timestamp()) - 300, int(now.timestamp()))


def test_a_cursor_of_other_streams_is_refused_in_one_line() -> None:
    other = load_cursor(None, ("a", "b"), "Other").begin(datetime.now(UTC), 0, datetime.now(UTC))
    with pytest.raises(InvalidInput, match="is not a Acme sync cursor"):
        load_cursor(other.dump(), STREAMS, "Acme")
    with pytest.raises(InvalidInput, match="is not a Acme sync cursor"):
        load_cursor({"version": 7}, STREAMS, "Acme")


def test_a_cursor_written_with_the_old_page_token_name_still_loads() -> None:
    raw = {
        "version": 1,
        "since": {},
        "run": {
            "until": 10,
            "start": dict.fromkeys(STREAMS, 0),
            "stream": "events",
            "starting_after": "evt_9",
        },
    }
    cursor = load_cursor(raw, STREAMS, "Acme")
    assert cursor.run is not None and cursor.run.page_after == "evt_9"


class Conn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_key: SecretStr
    site: str


def test_settings_problems_come_in_one_line_without_values() -> None:
    with pytest.raises(InvalidInput) as bad:
        load_adapter_settings(
            Conn, {"api_key": "live_secret_123", "sight": "x"}, {"site": "your site name"}
        )
    text = str(bad.value)
    assert "site" in text and "sight" in text and "your site name" in text and "known keys" in text
    assert "live_secret_123" not in text
    assert load_adapter_settings(Conn, {"api_key": "k", "site": "s"}, {}).site == "s"


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth_accepts_any_configured_credential_and_nothing_else() -> None:
    accepted = [("hooks", SecretStr("old-password")), ("hooks", SecretStr("new-password"))]
    assert authorized(basic("hooks", "old-password"), accepted)
    assert authorized(basic("hooks", "new-password"), accepted)
    assert not authorized(basic("hooks", "wrong"), accepted)
    assert not authorized(basic("other", "new-password"), accepted)
    assert not authorized({}, accepted)
    assert not authorized({"Authorization": "Bearer x"}, accepted)
    assert not authorized({"Authorization": "Basic !!!"}, accepted)
    assert not authorized(basic("hooks", "new-password"), [])
    assert credentials_of(basic("a", "b:c")) == ("a", "b:c")
