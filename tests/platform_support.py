"""Fixtures the platform adapters' tests share: a respx router, a retry policy that never sleeps.

Each platform's conftest imports the ones it uses (``from tests.platform_support import router as
router``) and adds its own fake platform, settings and adapters on top. The retry policy's waits
are recorded in ``sleeps`` instead of slept, so a test asserts the back-off without waiting for it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from connector.platform.retry import RetryPolicy


class Sleeps(list[float]):
    """Records the waits the retry policy asked for, without waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def retry(sleeps: Sleeps) -> RetryPolicy:
    """Four attempts, waits from half a second up to eight with a quarter of jitter."""
    return RetryPolicy(max_attempts=4, base_wait=0.5, max_wait=8.0, jitter=0.25, sleep=sleeps)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """Every request must match a route; a route nobody calls is no failure."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock
