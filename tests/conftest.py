"""Fixtures shared by the suite: both framing twins, and a reference parser."""

from __future__ import annotations

import importlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from broker_backends import BACKENDS, BackendFactory
from hypothesis import settings
from redis_server import RedisServer, redis_server
from reference import Parsed, reference_parse
from twins import EXPECT_PURE, TWINS, load_twin

settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "compiled: needs the compiled twin (see EXPECT_PURE)")
    config.addinivalue_line("markers", "redis: needs redis-server (see tests/redis_server.py)")


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


DECODER_TWINS = {"c": "sse_fast._framing_c", "py": "sse_fast._decoder_py"}


@pytest.fixture(scope="session", params=TWINS)
def decoding(request: pytest.FixtureRequest) -> ModuleType:
    """A module with ``Decoder`` and ``ServerSentEvent``: the compiled twin, then the pure."""
    return importlib.import_module(DECODER_TWINS[request.param])


@pytest.fixture(scope="session")
def redis_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session; tests keep apart by :func:`redis_prefix`."""
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def fresh_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, free to be killed and restarted."""
    with redis_server(tmp_path) as server:
        yield server


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses."""
    return f"t{secrets.token_hex(4)}"


@pytest.fixture(params=list(BACKENDS))
def backend_factory(request: pytest.FixtureRequest) -> BackendFactory:
    """Makes a fresh broker backend per call, once for each backend in broker_backends.py."""
    return BACKENDS[request.param](request)
