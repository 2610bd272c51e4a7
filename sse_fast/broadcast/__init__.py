"""Fan-out across connections, workers and hosts, with Last-Event-ID replay.

from sse_fast.broadcast import Broker

broker = Broker()                      # MemoryBackend: one process
async with broker:                     # in the app's lifespan
    event_id = await broker.publish("room:1", "hello", event="msg")
    async with broker.subscribe("room:1", last_event_id=cursor) as sub:
        async for item in sub:         # Event | Reset
            ...
"""

from __future__ import annotations

import importlib
from typing import Any

from ._backend import Backend, BrokerUnavailable, Position, StoredEvent, TooManySubscribers
from ._broker import Broker
from ._hub import Subscription
from ._items import Event, Reset
from ._memory import MemoryBackend
from ._web import is_authorized, last_event_id

__all__ = [
    "Backend",
    "Broker",
    "BrokerUnavailable",
    "Event",
    "MemoryBackend",
    "Position",
    "Reset",
    "StoredEvent",
    "Subscription",
    "TooManySubscribers",
    "is_authorized",
    "last_event_id",
]


def __getattr__(name: str) -> Any:
    # redis-py is an optional dependency: RedisBackend is imported when first asked for.
    if name == "RedisBackend":
        return importlib.import_module(".redis", __name__).RedisBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
