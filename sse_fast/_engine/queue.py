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

    # Thousands are idle at once: five slots. One waiter slot serves readers waiting for
    # an item and writers waiting for room: the queue is never empty and full at once.
    __slots__ = ("_consumer", "_end", "_maxsize", "_pending", "_waiter")

    def __init__(self, maxsize: int = MAX_EVENTS) -> None:
        if not isinstance(maxsize, int) or isinstance(maxsize, bool) or maxsize < 1:
            raise ValueError(f"maxsize must be an int >= 1: {maxsize!r}")
        self._maxsize = maxsize
        self._pending: deque[Any] | None = None  # made when needed: most queues are attached
        self._consumer: _Consumer | None = None
        # None: open; True: closed; an exception: the stream ended (what put raises).
        self._end: BaseException | bool | None = None
        self._waiter: anyio.Event | None = None  # readers wait for an item, or writers for room

    @property
    def maxsize(self) -> int:
        return self._maxsize

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called or the consuming stream has ended."""
        return self._end is not None

    def _check_open(self) -> None:
        end = self._end
        if isinstance(end, BaseException):
            raise type(end)(*end.args)
        if end is not None:
            raise RuntimeError("put() on a closed EventQueue")

    async def put(self, item: Any) -> None:
        """Add ``item``; when the stream's writer is idle, write it before returning."""
        consumer = self._consumer
        if consumer is not None and self._end is None:  # the usual put, with no more calls
            await consumer.push(item)
            return
        self._check_open()
        while self._pending is not None and len(self._pending) >= self._maxsize:
            self._waiter = room = self._waiter or anyio.Event()
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
        self._wake_all()

    def close(self) -> None:
        """No more items: the stream ends once what was put before is sent."""
        if self._end is not None:
            return
        self._end = True
        if self._consumer is not None:
            self._consumer.source_closed()
        self._wake_all()

    def _wake_all(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.set()

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

    def end(self, error: BaseException, consumer: _Consumer) -> None:
        """The stream ``consumer`` has ended: every later put raises ``error`` (a fresh
        copy). A stream refused because another one streams this queue leaves it alone."""
        if self._consumer is not None and self._consumer is not consumer:
            return
        self._end = error
        self._wake_all()

    # ---------------------------------------------------------- iterated without a stream

    def __aiter__(self) -> EventQueue:
        return self

    async def __anext__(self) -> Any:
        while not self._pending:
            if self._end is not None:
                raise StopAsyncIteration
            self._waiter = got = self._waiter or anyio.Event()
            await got.wait()
        assert self._pending is not None
        item = self._pending.popleft()
        self._wake_all()  # a writer waiting for room
        return item
