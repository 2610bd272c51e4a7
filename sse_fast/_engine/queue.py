"""EventQueue: the push source (``await put(event)``), consumed by a stream without a task.

While no stream consumes it, a queue keeps what is put in order (up to ``maxsize``) and
can be iterated like any async iterable. Once a stream runs it, items go straight into
that stream's batch: ``await put()`` writes them itself when the stream's writer is
idle (write-through), and what is put while a write is in flight leaves with the next.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Protocol

import anyio

from .batch import MAX_EVENTS

__all__ = ["EventQueue"]


class _Consumer(Protocol):
    async def push(self, item: Any) -> None: ...
    def push_nowait(self, item: Any) -> None: ...
    def source_closed(self) -> None: ...


class EventQueue:
    """A bounded queue of events for a stream: the push source of the engine.

    Items are those of any source: :class:`~sse_fast.ServerSentEvent`, ``str``,
    ``dict``, framed ``bytes``, lists of those, or objects whose type has
    ``__sse_frame__(sep)``. A bad item raises ``TypeError``/``ValueError`` from
    ``put`` and the stream goes on. ``await put(item)`` waits while ``maxsize`` items are
    unsent; ``put_nowait(item)`` raises :class:`asyncio.QueueFull` instead. ``close()``
    ends the stream once everything put before it is sent. Once the stream has ended
    (the client left, the send timed out, the server shut down), ``put`` raises:
    :class:`ConnectionResetError`, or :class:`~sse_fast.stream.SendTimeoutError`.
    """

    __slots__ = ("_closed", "_consumer", "_ended", "_got", "_maxsize", "_pending", "_room")

    def __init__(self, maxsize: int = MAX_EVENTS) -> None:
        if not isinstance(maxsize, int) or isinstance(maxsize, bool) or maxsize < 1:
            raise ValueError(f"maxsize must be an int >= 1: {maxsize!r}")
        self._maxsize = maxsize
        self._pending: deque[Any] | None = None  # made when needed: most queues are attached
        self._consumer: _Consumer | None = None
        self._closed = False
        self._ended: BaseException | None = None
        self._got: anyio.Event | None = None  # a reader waits for an item
        self._room: anyio.Event | None = None  # a writer waits for room

    @property
    def maxsize(self) -> int:
        return self._maxsize

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called or the consuming stream has ended."""
        return self._closed

    def _check_open(self) -> None:
        if self._ended is not None:
            raise type(self._ended)(*self._ended.args)
        if self._closed:
            raise RuntimeError("put() on a closed EventQueue")

    async def put(self, item: Any) -> None:
        """Add ``item``; when the stream's writer is idle, write it before returning."""
        self._check_open()
        consumer = self._consumer
        if consumer is not None:
            await consumer.push(item)
            return
        while self._pending is not None and len(self._pending) >= self._maxsize:
            self._room = room = self._room or anyio.Event()
            await room.wait()
            self._check_open()
            if self._consumer is not None:
                await self._consumer.push(item)
                return
        self._append(item)

    def put_nowait(self, item: Any) -> None:
        """Add ``item`` without waiting; :class:`asyncio.QueueFull` when ``maxsize`` items
        are unsent. The stream writes it at its next turn."""
        self._check_open()
        if self._consumer is not None:
            self._consumer.push_nowait(item)
            return
        if self._pending is not None and len(self._pending) >= self._maxsize:
            raise asyncio.QueueFull(
                f"EventQueue is full ({self._maxsize} items unsent): await put() to wait"
            )
        self._append(item)

    def _append(self, item: Any) -> None:
        if self._pending is None:
            self._pending = deque()
        self._pending.append(item)
        if self._got is not None:
            self._got.set()
            self._got = None

    def close(self) -> None:
        """No more items: the stream ends once what was put before is sent."""
        if self._closed:
            return
        self._closed = True
        if self._consumer is not None:
            self._consumer.source_closed()
        self._wake_all()

    def _wake_all(self) -> None:
        for event in (self._got, self._room):
            if event is not None:
                event.set()
        self._got = self._room = None

    # ---------------------------------------------------------- used by the engine

    def attach(self, consumer: _Consumer) -> list[Any]:
        """The stream ``consumer`` takes over: returns what was put before it came."""
        if self._consumer is not None:
            raise RuntimeError("this EventQueue is already streamed by another response")
        self._consumer = consumer
        pending = list(self._pending or ())
        self._pending = None
        self._wake_all()  # a put() waiting for room goes to the consumer now
        return pending

    def end(self, error: BaseException) -> None:
        """The stream has ended: every later put raises ``error`` (a fresh copy)."""
        self._ended = error
        self._closed = True
        self._wake_all()

    # ---------------------------------------------------------- iterated without a stream

    def __aiter__(self) -> EventQueue:
        return self

    async def __anext__(self) -> Any:
        while not self._pending:
            if self._closed:
                raise StopAsyncIteration
            self._got = got = self._got or anyio.Event()
            await got.wait()
        assert self._pending is not None
        item = self._pending.popleft()
        if self._room is not None:
            self._room.set()
            self._room = None
        return item
