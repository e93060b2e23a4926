"""The fast route for single burns: it answers what it is sure of, and every answer, refusals
included, is the one the FastAPI route gives for the same request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from connector.api import create_app
from connector.api.burn_path import SingleBurn
from connector.runtime import Runtime
from tests.test_api_support import auth, client_for, make_runtime, seed


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = make_runtime(db_url, tmp_path)
    seed(rt, "acme", 10**9, rate="2")
    yield rt
    rt.engine.dispose()


def fast_of(app: FastAPI) -> SingleBurn:
    found = [r.app for r in app.router.routes if isinstance(r, Route)]
    return next(a for a in found if isinstance(a, SingleBurn))


def without_fast_route(runtime: Runtime) -> FastAPI:
    """The app as it would be with the FastAPI route alone."""
    app = create_app(runtime)
    fast = fast_of(app)
    app.router.routes = [r for r in app.router.routes if getattr(r, "app", None) is not fast]
    return app


class RouteCalls:
    """Counts the requests the FastAPI route behind the fast route handles."""

    def __init__(self, fast: SingleBurn) -> None:
        self.count = 0
        handle = fast.route.handle

        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            self.count += 1
            await handle(scope, receive, send)

        fast.route.handle = counted  # type: ignore[method-assign]


BURN = {
    "account_id": "acme",
    "action": "query",
    "units": 3,
    "occurred_at": "2026-02-01T10:00:00Z",
}


def test_a_well_formed_burn_is_answered_without_the_fastapi_route(runtime: Runtime) -> None:
    app = create_app(runtime)
    calls = RouteCalls(fast_of(app))
    with client_for(runtime, app) as client:
        answer = client.post(
            "/v1/burns", json=BURN, headers={**auth("burn"), "Idempotency-Key": "a"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["credits"] == 6
        assert answer.json()["balance"] == 10**9 - 6
        assert answer.headers["content-type"] == "application/json"
        assert calls.count == 0
        batch = client.post(
            "/v1/burns", json={"burns": [{**BURN, "idempotency_key": "b"}]}, headers=auth("burn")
        )
        assert batch.status_code == 200, batch.text
        assert batch.json()["burned"] == 1
        refused = client.post("/v1/burns", json={**BURN, "units": "3"}, headers=auth("burn"))
        assert refused.status_code == 422
        assert calls.count == 2  # the batch and the body that does not validate
    assert runtime.ledger.balance("acme").total == 10**9 - 12


def test_a_token_without_the_burn_scope_is_refused_before_the_fast_route(
    runtime: Runtime,
) -> None:
    with client_for(runtime) as client:
        answer = client.post(
            "/v1/burns", json=BURN, headers={**auth("read"), "Idempotency-Key": "r"}
        )
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "forbidden"
        missing = client.post("/v1/burns", json=BURN, headers={"Idempotency-Key": "r"})
        assert missing.status_code == 401
    assert runtime.ledger.balance("acme").total == 10**9


# Values of every JSON type, and the ones each field is most often wrong with.
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=8),
)
_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "account_id": st.one_of(st.sampled_from(["acme", "ghost", "", "a\x00b", "\ud800"]), _SCALARS),
    "action": st.one_of(st.sampled_from(["query", "render"]), _SCALARS),
    "units": st.one_of(st.integers(min_value=-2, max_value=4), st.just(10**12), _SCALARS),
    "occurred_at": st.one_of(
        st.sampled_from(
            [
                "2026-02-01T10:00:00Z",
                "2026-02-01T10:00:00",
                "2999-01-01T00:00:00Z",
                "0001-01-01T00:00:00+01:00",
                "yesterday",
            ]
        ),
        _SCALARS,
    ),
    "idempotency_key": st.one_of(st.sampled_from(["k1", "k2", "", "k\x00"]), _SCALARS),
    "surplus": _SCALARS,
}
_BODY = st.dictionaries(st.sampled_from(sorted(_FIELDS)), st.none()).flatmap(
    lambda keys: st.fixed_dictionaries({k: _FIELDS[k] for k in keys})
)
_RAW = st.one_of(
    _BODY.map(lambda body: json.dumps(body).encode()),
    _BODY.map(lambda body: json.dumps({"burns": [body]}).encode()),
    st.sampled_from([b"", b"{", b"[]", b"null", b"\xef\xbb\xbf{}", b'{"units": NaN}']),
    st.binary(max_size=12),
)
_CONTENT_TYPES = st.sampled_from(
    [["application/json"], ["application/json; charset=utf-8"], ["text/plain"], [],
     ["APPLICATION/JSON"], ["application/json", "application/json"]]
)  # fmt: skip
_KEYS = st.sampled_from([[], ["k1"], ["k2"], [""], ["k\x7f"], ["k" * 300], ["k1", "k2"]])


@given(body=_RAW, content_types=_CONTENT_TYPES, keys=_KEYS)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_answer_is_the_one_the_fastapi_route_gives(
    runtime: Runtime, body: bytes, content_types: list[str], keys: list[str]
) -> None:
    """The same request to the app with and without the fast route, the route alone first:
    the same status and body, but that a burn the route alone wrote is a replay the second
    time (its first result, marked so)."""
    headers = [("authorization", auth("burn")["Authorization"])]
    headers += [("content-type", value) for value in content_types]
    headers += [("idempotency-key", value) for value in keys]
    answers = []
    for app in (without_fast_route(runtime), create_app(runtime)):
        with client_for(runtime, app) as client:
            answer = client.post("/v1/burns", content=body, headers=headers)
        answers.append((answer.status_code, answer.json()))
    (alone_status, alone), (fast_status, fast) = answers
    assert fast_status == alone_status, (alone, fast)
    if alone_status == 200 and "burn_id" in alone:
        assert fast == {**alone, "replayed": True}
    elif alone_status == 200:  # a batch: each item burned again is a replay
        for item in alone["results"]:
            if item["ok"]:
                item["burn"]["replayed"] = True
        assert fast == alone
    else:
        assert fast == alone
