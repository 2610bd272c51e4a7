"""The backends the broker's contract tests run over, as one parametrized fixture.

``BACKENDS`` maps a name to a function of the test's ``request`` that returns a
factory: ``factory(history=...)`` gives a fresh backend for one ``Broker``. Backends that
share state across processes (Redis) give every factory call of one test the same
store, so two brokers of one test see each other's events; the memory backend gives
each broker its own. A backend module adds itself here with one entry.

The ``backend_factory`` fixture (in conftest.py) runs a test once per entry.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sse_fast.broadcast import Backend, MemoryBackend
from sse_fast.broadcast.redis import RedisBackend

BackendFactory = Callable[..., Backend]


def memory(request: pytest.FixtureRequest) -> BackendFactory:
    def factory(*, history: int = 1000) -> Backend:
        return MemoryBackend(history=history)

    return factory


def redis(request: pytest.FixtureRequest) -> BackendFactory:
    # The session's redis-server, under a key prefix of this test alone.
    url = request.getfixturevalue("redis_session").url
    prefix = request.getfixturevalue("redis_prefix")

    def factory(*, history: int = 1000) -> Backend:
        return RedisBackend.from_url(url, prefix=prefix, history=history, unwatch_linger=0.1)

    return factory


BACKENDS: dict[str, Callable[[pytest.FixtureRequest], BackendFactory]] = {
    "memory": memory,
    "redis": redis,
}
