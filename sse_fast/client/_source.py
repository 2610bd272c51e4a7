"""The reconnecting event sources, async (``EventSource``) and sync (``SyncEventSource``).

Both follow the EventSource processing model (WHATWG HTML §9.2.3) with the same
options and bookkeeping (``Options``); only the waiting and the reading differ.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING

import anyio

from ._event import Event
from ._libraries import ASYNC_CLIENTS, SYNC_CLIENTS, aread_prefix, read_prefix
from ._options import Options, check_head, new_event, stream_error

if TYPE_CHECKING:
    from ._options import AsyncClient, SyncClient  # noqa: F401

__all__ = ["EventSource", "SyncEventSource", "connect", "connect_sync"]


class EventSource(Options["AsyncClient"]):
    """A reconnecting event stream read through an ``httpx.AsyncClient``,
    ``httpx2.AsyncClient`` or ``aiohttp.ClientSession`` (``connect`` is this class).

    ``headers`` are added to ``Accept: text/event-stream``, ``Cache-Control:
    no-store`` and ``Last-Event-ID`` (sent when the last event ID is not empty; seed
    it with ``last_event_id``). ``retry`` is the reconnection time in milliseconds
    until the stream sets one; after failures the wait grows as ``backoff`` says
    (``Backoff()``: doubling, at most 30 s, up to 50% jitter). ``max_reconnects``
    bounds reconnections (None: no bound, as in browsers); when it is reached, the
    last transport error is raised, and a stream that ended is simply over.
    ``idle_timeout`` (seconds) is the longest wait for the next byte (an event or a
    ping) before the connection is taken for dead and replaced; it becomes the
    library's read timeout (None leaves the client's own). ``on_reconnect`` is
    called with a ``Reconnecting`` (why, when) before each wait, which is also logged
    on the ``sse_fast.client`` logger; ``on_bytes`` with each chunk of the body as it
    arrives. ``max_event_size`` is the decoder's limit. Other keyword arguments go to
    the client's request method (``json``, ``params``, ``timeout``, ...).

    Iterate it (once) with ``async for``; ``aclose()`` (or leaving ``async with``)
    closes the current connection. ``response`` is the latest response.
    """

    _kinds = ASYNC_CLIENTS
    _other_kinds = SYNC_CLIENTS
    _other_hint = "{} client: use connect_sync()"
    _sleep: Callable[[float], Awaitable[None]] = staticmethod(anyio.sleep)  # httpx may run on trio
    _events: AsyncIterator[Event] | None = None

    async def _stream(self) -> AsyncIterator[Event]:
        decoder = self._decoder
        library = self._library
        while True:
            opened = False
            error: BaseException | None = None
            try:
                async with library.open_async(
                    self._client, self._method, self._url, self._request_headers(), self._request
                ) as (head, chunks):
                    self.response = head.response
                    if head.status == 204:  # "stop reconnecting" (§9.2.1)
                        return
                    if not check_head(head):
                        raise stream_error(head, await aread_prefix(chunks))
                    opened = True
                    self._reconnection.opened()
                    on_bytes = self._on_bytes
                    async for chunk in chunks:
                        if on_bytes is not None:
                            on_bytes(chunk)
                        for e in decoder.feed(chunk):
                            yield new_event(Event, (e.data, e.event, e.id))
            except library.fatal_errors:
                raise
            except library.transport_errors as exc:  # a dropped connection is reestablished
                error = exc
            delay = self._plan(error, opened)
            if delay is None:
                return
            await self._sleep(delay)

    def __aiter__(self) -> AsyncIterator[Event]:
        if self._events is None:
            self._events = self._stream()
        return self._events

    async def aclose(self) -> None:
        if self._events is not None:
            await self._events.aclose()  # type: ignore[attr-defined]

    async def __aenter__(self) -> EventSource:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class SyncEventSource(Options["SyncClient"]):
    """A reconnecting event stream read through an ``httpx.Client``, ``httpx2.Client``
    or ``requests.Session`` (``connect_sync`` is this class). The options are those of
    ``EventSource``; iterate it with ``for``, close it with ``close()`` or ``with``. It
    blocks the calling thread while it waits."""

    _kinds = SYNC_CLIENTS
    _other_kinds = ASYNC_CLIENTS
    _other_hint = "{} async client: use connect()"
    _sleep: Callable[[float], None] = staticmethod(time.sleep)
    _events: Iterator[Event] | None = None

    def _stream(self) -> Iterator[Event]:
        decoder = self._decoder
        library = self._library
        while True:
            opened = False
            error: BaseException | None = None
            try:
                with library.open_sync(
                    self._client, self._method, self._url, self._request_headers(), self._request
                ) as (head, chunks):
                    self.response = head.response
                    if head.status == 204:
                        return
                    if not check_head(head):
                        raise stream_error(head, read_prefix(chunks))
                    opened = True
                    self._reconnection.opened()
                    on_bytes = self._on_bytes
                    for chunk in chunks:
                        if on_bytes is not None:
                            on_bytes(chunk)
                        for e in decoder.feed(chunk):
                            # Built from the tuple of fields: this runs once per event.
                            yield new_event(Event, (e.data, e.event, e.id))
            except library.fatal_errors:
                raise
            except library.transport_errors as exc:
                error = exc
            delay = self._plan(error, opened)
            if delay is None:
                return
            self._sleep(delay)

    def __iter__(self) -> Iterator[Event]:
        if self._events is None:
            self._events = self._stream()
        return self._events

    def close(self) -> None:
        if self._events is not None:
            self._events.close()  # type: ignore[attr-defined]

    def __enter__(self) -> SyncEventSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


connect = EventSource
connect_sync = SyncEventSource
