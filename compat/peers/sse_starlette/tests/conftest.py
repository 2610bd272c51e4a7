"""Fixtures for the peer's tests (their sdist leaves the conftest out), written for sse_fast.

The tests run on asyncio only, and every test starts and ends with ``AppStatus`` reset,
as a test suite of an app using sse-starlette does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sse_starlette.sse


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def reset_shutdown_state() -> Iterator[None]:
    app_status = sse_starlette.sse.__dict__.get("AppStatus")
    if app_status is not None:
        app_status.should_exit = False
        app_status.should_exit_event = None
    yield
    if app_status is not None:
        app_status.should_exit = False
        app_status.should_exit_event = None
