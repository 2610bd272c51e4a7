"""Fixtures shared by the suite: both framing twins, and a reference parser."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType

import pytest
from hypothesis import settings
from reference import Parsed, reference_parse

settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# SSE_FAST_EXPECT_PURE=1 says the installed package is a pure wheel (py3-none-any, no
# _framing_c): only then do tests of the compiled twin leave the run (the "c" parameter,
# and tests marked `compiled`). Without it a missing compiled module fails the run.
EXPECT_PURE = os.environ.get("SSE_FAST_EXPECT_PURE", "") not in ("", "0")
TWINS = ["py"] if EXPECT_PURE else ["c", "py"]


def load_twin(name: str) -> ModuleType:
    # No skip: a missing compiled module must fail the run, not hide it.
    return importlib.import_module(f"sse_fast._framing_{name}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "compiled: needs the compiled twin (see EXPECT_PURE)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not EXPECT_PURE:
        return
    dropped = [item for item in items if item.get_closest_marker("compiled")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not item.get_closest_marker("compiled")]


@pytest.fixture(scope="session", params=TWINS)
def framing(request: pytest.FixtureRequest) -> ModuleType:
    """The compiled twin, then the pure twin: every framing test runs on both."""
    return load_twin(request.param)


@pytest.fixture(scope="session")
def parse() -> Callable[[bytes], Parsed]:
    return reference_parse
