"""A pytest plugin that runs FastAPI's own SSE tests on the sse_fast adapter.

FastAPI's tests write apps the native way; this swaps, for the test run only, the
``EventSourceResponse`` they import for the adapter's and makes the adapter's route
class the default of every ``APIRouter`` (so of every ``FastAPI`` app). It is what an
app does by changing its import and setting ``route_class``; nothing else is touched.
``expected_failures.txt`` beside this file lists the tests that check what the adapter
deliberately does differently; they run as strict xfails.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import fastapi.responses
import fastapi.routing
import fastapi.sse
import pytest

from sse_fast.adapters import fastapi as adapter

EXPECTED_FAILURES = Path(__file__).with_name("expected_failures.txt")

fastapi.sse.EventSourceResponse = adapter.EventSourceResponse  # type: ignore[misc,assignment]
fastapi.responses.EventSourceResponse = adapter.EventSourceResponse  # type: ignore[misc,assignment]
_router_init = fastapi.routing.APIRouter.__init__


@functools.wraps(_router_init)
def _router_init_with_adapter_routes(self: Any, *args: Any, **kwargs: Any) -> None:
    kwargs.setdefault("route_class", adapter.EventSourceRoute)
    _router_init(self, *args, **kwargs)


fastapi.routing.APIRouter.__init__ = _router_init_with_adapter_routes  # type: ignore[method-assign]


def expected_failures() -> dict[str, str]:
    """Test id (as pytest prints it) -> why the adapter differs."""
    reasons = {}
    for line in EXPECTED_FAILURES.read_text().splitlines():
        test_id, _, reason = line.partition("#")
        if test_id.strip():
            reasons[test_id.strip()] = reason.strip()
    return reasons


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reasons = expected_failures()
    for item in items:
        reason = reasons.get(item.nodeid)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
