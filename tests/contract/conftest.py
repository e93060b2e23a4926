"""The contract suite's fixtures: one harness per platform, chosen by capability.

A test names the capability it needs through its fixture: ``harness`` (every platform with a
purchase source), ``receiving`` (a webhook receiver) or ``remote`` (reached over HTTP). Each is
parametrized over ``available_platforms()`` filtered by the adapter's AdapterSpec, so a new
adapter is held to every contract it can keep, and none is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import respx

from connector.ports import adapter, available_platforms
from tests.contract.harness import Harness, harness_module


def _remote(platform: str) -> bool:
    """What the platform's harness says; a platform without a harness is held to everything."""
    try:
        return bool(harness_module(platform).REMOTE)
    except ImportError:
        return True


CAPABLE: dict[str, Callable[[str], bool]] = {
    "harness": lambda platform: adapter(platform).source is not None,
    "receiving": lambda platform: adapter(platform).receiver is not None,
    "remote": lambda platform: adapter(platform).source is not None and _remote(platform),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for fixture, capable in CAPABLE.items():
        if fixture in metafunc.fixturenames:
            platforms = [p for p in available_platforms() if capable(p)]
            metafunc.parametrize("platform", platforms)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


def _make(platform: str, router: respx.MockRouter, tmp_path: Path) -> Harness:
    make: Callable[[respx.MockRouter, Path], Harness] = harness_module(platform).make
    return make(router, tmp_path)


@pytest.fixture
def harness(platform: str, router: respx.MockRouter, tmp_path: Path) -> Harness:
    return _make(platform, router, tmp_path)


@pytest.fixture
def receiving(platform: str, router: respx.MockRouter, tmp_path: Path) -> Harness:
    return _make(platform, router, tmp_path)


@pytest.fixture
def remote(platform: str, router: respx.MockRouter, tmp_path: Path) -> Harness:
    return _make(platform, router, tmp_path)
