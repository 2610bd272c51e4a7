"""Sync sources (a blocking generator, a DB cursor) stepped in worker threads.

Each stream steps its iterator through a bounded :class:`anyio.CapacityLimiter` of its
own kind (:func:`default_limiter`: one per event loop, not anyio's default limiter), so
streams blocked in I/O never starve the app's other sync work. When the stream ends
while a step is blocked, the iterator is abandoned, not waited for: the worker thread
closes it (its ``finally`` runs) as soon as the blocking call returns.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.to_thread

__all__ = ["SYNC_SOURCE_THREADS", "ThreadedSource", "default_limiter"]

SYNC_SOURCE_THREADS = 64
"""How many sync sources of one event loop may run a step at the same time (default)."""

_limiters: weakref.WeakKeyDictionary[object, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()
_END = object()


def default_limiter() -> anyio.CapacityLimiter:
    """The sync sources' limiter of the running event loop (or trio run)."""
    from .shutdown import _loop_key

    key = _loop_key()
    limiter = _limiters.get(key)
    if limiter is None:
        limiter = _limiters[key] = anyio.CapacityLimiter(SYNC_SOURCE_THREADS)
    return limiter


class ThreadedSource:
    """An async iterator over a sync iterator, each ``next()`` in a worker thread."""

    __slots__ = ("_abandoned", "_closed", "_iterator", "_limiter", "_lock", "_stepping")

    def __init__(self, iterator: Iterator[Any], limiter: anyio.CapacityLimiter | None) -> None:
        self._iterator = iterator
        self._limiter = limiter
        self._lock = threading.Lock()
        self._stepping = False
        self._abandoned = False
        self._closed = False

    def __aiter__(self) -> ThreadedSource:
        return self

    async def __anext__(self) -> Any:
        if self._limiter is None:
            self._limiter = default_limiter()
        item = await anyio.to_thread.run_sync(
            self._step, abandon_on_cancel=True, limiter=self._limiter
        )
        if item is _END:
            raise StopAsyncIteration
        return item

    def _step(self) -> Any:
        with self._lock:
            if self._abandoned:
                return _END
            self._stepping = True
        try:
            return next(self._iterator, _END)
        finally:
            with self._lock:
                self._stepping = False
                close_now = self._abandoned
            if close_now:
                self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._iterator, "close", None)
        if close is not None:
            close()

    async def aclose(self) -> None:
        """Close the iterator: now, in a worker thread, if no step is blocked; else by
        the blocked step's thread once it returns (not waited for)."""
        with self._lock:
            self._abandoned = True
            if self._stepping:
                return
        if getattr(self._iterator, "close", None) is None:
            return
        with anyio.CancelScope(shield=True), anyio.move_on_after(1.0):
            await anyio.to_thread.run_sync(self._close, abandon_on_cancel=True)
