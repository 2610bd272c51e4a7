"""Fixtures shared by the suite: both framing twins, and a reference parser."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType, SimpleNamespace

import pytest
from hypothesis import settings
from reference import Parsed, reference_parse
from twins import EXPECT_PURE, TWINS, load_twin

settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


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


@pytest.fixture(scope="session", params=TWINS)
def decoding(request: pytest.FixtureRequest) -> SimpleNamespace:
    """``Decoder`` and the ``ServerSentEvent`` it makes: the compiled twins, then the pure."""
    decoder = importlib.import_module(f"sse_fast._decoder_{request.param}")
    return SimpleNamespace(
        Decoder=decoder.Decoder, ServerSentEvent=load_twin(request.param).ServerSentEvent
    )
