"""A property test of the whole HTTP API, driven by its own OpenAPI document (schemathesis).

Every operation the app documents gets requests that fit its schema and requests that do not
(wrong types, missing fields, NUL characters, lone surrogates, huge numbers, odd instants), each
sent without a token and with each scope's token. Whatever the request, the answer is never a
5xx; a refused request (any 4xx) leaves every table exactly as it was; and the ledger still
verifies after each example. The number of examples is bounded so that the test runs in CI on
both databases.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation, BaseSchema
from sqlalchemy import func, literal, select, union_all

from connector.api import create_app
from connector.ledger.verify import verify
from connector.runtime import Runtime
from connector.store.schema import metadata
from tests.test_api_support import TOKENS, make_runtime, quick_drainer, seed

EXAMPLES = 8  # per operation, mode and database; each example is sent once per caller
# Names the seeded database knows: half the examples use them, so that requests get past "not
# found" into the code that burns, reads and changes rates, with the rest of the input hostile.
KNOWN = {"account_id": "acme", "action": "query", "connection": "stripe", "period": "2026-01"}
AnyCase = Case[Any]
AnyOperation = APIOperation[Any, Any, Any, Any]
CALLERS: dict[str, dict[str, str]] = {
    "anonymous": {},
    **{scope: {"Authorization": f"Bearer {token}"} for scope, token in TOKENS.items()},
}


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = make_runtime(db_url, tmp_path)
    seed(rt, "acme", 1000, rate="2")
    yield rt
    rt.engine.dispose()


def api_schema(runtime: Runtime) -> BaseSchema:
    """The app's own OpenAPI document, its operations called in process over ASGI."""
    app = create_app(runtime)
    app.state.drainer = quick_drainer(runtime)
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    loaded.config.generation.update(
        max_examples=EXAMPLES,
        codec=None,  # any code point, lone surrogates included
        allow_x00=True,
        with_security_parameters=False,  # the callers below send the tokens
    )
    return loaded


def table_counts(runtime: Runtime) -> dict[str, int]:
    """The row count of every table, in one statement."""
    per_table = [
        select(literal(table.name).label("name"), func.count().label("rows")).select_from(table)
        for table in metadata.sorted_tables
    ]
    with runtime.engine.connect() as conn:
        return {row.name: int(row.rows) for row in conn.execute(union_all(*per_table))}


def with_known_names(value: Any) -> Any:
    """``value`` (a body or path parameters) with every field named in KNOWN set to it."""
    if isinstance(value, dict):
        return {k: KNOWN.get(k, with_known_names(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [with_known_names(v) for v in value]
    return value


def sometimes_known(case: AnyCase, known: bool) -> AnyCase:
    if known:
        case.path_parameters = with_known_names(case.path_parameters)
        case.body = with_known_names(case.body)
    return case


def check(runtime: Runtime, case: AnyCase) -> None:
    before = table_counts(runtime)
    for caller, headers in CALLERS.items():
        response = case.call(headers=headers)
        assert response.status_code < 500, (caller, case.as_curl_command(), response.text)
        after = table_counts(runtime)
        if response.status_code >= 400:
            assert after == before, (caller, case.as_curl_command(), response.text)
        before = after
    with runtime.engine.connect() as conn:
        assert verify(conn) == []


def run(operation: AnyOperation, mode: GenerationMode, runtime: Runtime) -> None:
    cases = st.builds(sometimes_known, operation.as_strategy(generation_mode=mode), st.booleans())

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def one_operation(case: AnyCase) -> None:
        check(runtime, case)

    one_operation()


def test_no_request_answers_5xx_and_a_refusal_writes_nothing(runtime: Runtime) -> None:
    operations: list[AnyOperation] = []
    for result in api_schema(runtime).get_all_operations():
        assert isinstance(result, Ok), result.err()  # the document loads whole, or the test fails
        operations.append(result.ok())
    assert len(operations) >= 20  # every documented route, not a schema that failed to load
    for operation in operations:
        run(operation, GenerationMode.POSITIVE, runtime)
        with contextlib.suppress(Unsatisfiable):  # nothing to make invalid: no input, free text
            run(operation, GenerationMode.NEGATIVE, runtime)
