"""Fixtures shared by the suite: both framing twins, and a reference parser."""

from __future__ import annotations

import functools
import importlib
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from broker_backends import BACKENDS, BackendFactory
from hypothesis import settings
from redis_server import RedisServer, redis_server
from reference import Parsed, reference_parse
from twins import EXPECT_PURE, TWINS, load_twin

settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# A test module that imports one of these starts servers (subprocesses, threads or an
# in-process aiohttp app on a socket): its tests are marked `server`, and `make unit`
# leaves them out. Tests under tests/e2e are marked `browser`.
SERVER_IMPORTS = re.compile(
    r"^(?:from|import) (?:servers|sse_server|example_servers)\b|^from aiohttp import web\b",
    re.MULTILINE,
)
# Platform guards, applied as @pytest.mark.needs_proc / @pytest.mark.needs_posix_signals:
# macOS has no /proc, and on Windows SIGTERM (os.kill, Popen.send_signal) kills outright.
PLATFORM_GUARDS = {
    "needs_proc": (
        not Path("/proc/self/status").exists(),
        "reads /proc/<pid>/status, which only Linux has",
    ),
    "needs_posix_signals": (
        sys.platform == "win32",
        "sends SIGTERM and expects it handled; Windows turns it into TerminateProcess",
    ),
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "compiled: needs the compiled twin (see EXPECT_PURE)")
    config.addinivalue_line("markers", "server: starts a server (left out by `make unit`)")
    config.addinivalue_line("markers", "browser: drives Chromium (left out by `make unit`)")
    config.addinivalue_line(
        "markers", "redis: needs redis-server (see tests/redis_server.py; left out by `make unit`)"
    )
    for name, (_, reason) in PLATFORM_GUARDS.items():
        config.addinivalue_line("markers", f"{name}: skipped where the test cannot run: {reason}")


@functools.cache
def starts_servers(path: Path) -> bool:
    return bool(SERVER_IMPORTS.search(path.read_text(encoding="utf-8")))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.browser)
        elif starts_servers(item.path):
            item.add_marker(pytest.mark.server)
        for name, (skip, reason) in PLATFORM_GUARDS.items():
            if skip and item.get_closest_marker(name):
                item.add_marker(pytest.mark.skip(reason=reason))
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
