"""The in-process backend: every topic's history in this process's memory.

For one process only: with several workers (``uvicorn --workers 4``, gunicorn) each
worker has its own topics, so a client on one worker never sees what another worker
published. Use :class:`~sse_fast.broadcast.RedisBackend` there.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from ._backend import Deliver, Gap, Position, StoredEvent, new_epoch

__all__ = ["MemoryBackend"]

logger = logging.getLogger("sse_fast.broadcast")


class _Topic:
    __slots__ = ("epoch", "events", "seq", "touched", "watchers")

    def __init__(self, history: int, now: float) -> None:
        self.epoch = new_epoch()
        self.seq = 0
        self.events: deque[StoredEvent] = deque(maxlen=history)
        self.touched = now
        self.watchers = 0


class MemoryBackend:
    """Topics in memory: the last ``history`` events of each, for replay.

    A topic with no subscriber and no publish for ``history_ttl`` seconds is dropped
    (``None``: kept), and at most ``max_topics`` topics are kept, the least recently
    used idle ones dropped first. A dropped topic that is used again starts a new epoch,
    as does every topic when the process restarts, so an old cursor gets
    ``Reset("epoch")`` instead of silently skipping what it missed.
    """

    def __init__(
        self,
        *,
        history: int = 1000,
        history_ttl: float | None = None,
        max_topics: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_count("history", history)
        _check_count("max_topics", max_topics)
        if history_ttl is not None and (
            not isinstance(history_ttl, int | float)
            or isinstance(history_ttl, bool)
            or not history_ttl > 0
        ):
            raise ValueError(
                f"history_ttl must be a number of seconds > 0 or None, got {history_ttl!r}"
            )
        self.history = history
        self.history_ttl = history_ttl
        self.max_topics = max_topics
        self._clock = clock
        self._topics: OrderedDict[str, _Topic] = OrderedDict()
        self._deliver: Deliver | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def topic_count(self) -> int:
        return len(self._topics)

    async def start(self, deliver: Deliver, resync: Callable[[], None]) -> None:
        self._deliver = deliver
        self._loop = asyncio.get_running_loop()
        workers = os.environ.get("WEB_CONCURRENCY", "1")
        if workers.isdigit() and int(workers) > 1:
            logger.warning(
                "MemoryBackend with WEB_CONCURRENCY=%s: each worker process has its own "
                "topics, so clients only see events published in their worker; use RedisBackend",
                workers,
            )

    async def close(self) -> None:
        self._deliver = None

    async def publish(self, topic: str, event: str | None, data: bytes) -> Position:
        state = self._topic(topic)
        state.seq += 1
        state.events.append(StoredEvent(state.seq, event, data))
        state.touched = self._clock()
        self._topics.move_to_end(topic)
        if state.watchers and self._deliver is not None:
            self._deliver(topic, state.epoch, state.seq, event, data)
        return Position(state.epoch, state.seq)

    async def watch(self, topic: str) -> None:
        self._topic(topic).watchers += 1
        self._topics.move_to_end(topic)

    async def unwatch(self, topic: str) -> None:
        state = self._topics.get(topic)
        if state is not None and state.watchers:
            state.watchers -= 1
            state.touched = self._clock()
            self._topics.move_to_end(topic)

    async def head(self, topic: str) -> Position:
        state = self._topic(topic)
        return Position(state.epoch, state.seq)

    async def read(self, topic: str, epoch: str, after: int, limit: int) -> list[StoredEvent]:
        self._expire()
        state = self._topics.get(topic)
        if state is None or state.epoch != epoch:
            raise Gap("epoch")
        events = state.events
        if after >= state.seq or limit <= 0:
            return []
        first = events[0].seq if events else state.seq + 1
        if after + 1 < first:
            raise Gap("trimmed")
        start = after + 1 - first
        return [events[index] for index in range(start, min(start + limit, len(events)))]

    def _topic(self, topic: str) -> _Topic:
        self._expire()
        state = self._topics.get(topic)
        if state is None:
            if len(self._topics) >= self.max_topics:
                self._evict_one()
            state = self._topics[topic] = _Topic(self.history, self._clock())
        return state

    def _evict_one(self) -> None:
        for name, state in self._topics.items():
            if not state.watchers:
                del self._topics[name]
                return

    def _expire(self) -> None:
        if self.history_ttl is None:
            return
        deadline = self._clock() - self.history_ttl
        # Oldest touch first; a watched topic is skipped, not expired.
        expired = []
        for name, state in self._topics.items():
            if state.touched > deadline:
                break
            if not state.watchers:
                expired.append(name)
        for name in expired:
            del self._topics[name]


def _check_count(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
