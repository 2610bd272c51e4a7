"""Read Server-Sent Events from HTTP responses, reconnecting like a browser.

Works with an ``httpx.AsyncClient`` or an ``aiohttp.ClientSession`` (install the
``sse-fast[httpx]`` or ``sse-fast[aiohttp]`` extra); nothing here imports either
library until it is given one of their objects.

    async with sse_fast.client.connect(http_client, url) as source:
        async for event in source:
            print(event.event, event.id, event.data)

``connect()`` follows the EventSource processing model (WHATWG HTML §9.2.3): it sends
``Accept: text/event-stream`` and, on reconnection, ``Last-Event-ID``; when the body
ends or the connection drops it waits the reconnection time (the stream's ``retry``
field, else ``retry=`` milliseconds) and reconnects; an HTTP 204 ends the iteration;
any other status than 200, or a Content-Type other than ``text/event-stream``
(parameters ignored), raises ``EventStreamError``, which carries the response.

``aiter_events(response)`` decodes one response already opened, without reconnecting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio

from ._decoder import Decoder
from ._errors import DEFAULT_MAX_EVENT_SIZE
from ._framing import ServerSentEvent

if TYPE_CHECKING:
    import aiohttp
    import httpx

__all__ = ["EventSource", "EventStreamError", "aiter_events", "connect"]

DEFAULT_RETRY = 3000  # ms: "probably in the region of a few seconds" (§9.2.3)


class EventStreamError(Exception):
    """The server answered, but not with an event stream: a status other than 200
    (and 204, which only ends the stream), or a Content-Type other than
    ``text/event-stream``. Browsers do not reconnect after this, and neither does
    ``connect()``. ``response`` is the httpx or aiohttp response (closed, body unread).
    """

    def __init__(self, message: str, response: Any) -> None:
        super().__init__(message)
        self.response = response


@dataclass
class _Opened:
    response: Any
    status: int
    content_type: str
    chunks: AsyncIterator[bytes]


def _is_httpx(client: object) -> bool:
    return type(client).__module__.partition(".")[0] == "httpx"


def _opened(response: Any) -> _Opened:
    if _is_httpx(response):
        return _Opened(
            response,
            response.status_code,
            response.headers.get("content-type", ""),
            response.aiter_bytes(),
        )
    return _Opened(
        response,
        response.status,
        response.headers.get("Content-Type", ""),
        response.content.iter_any(),
    )


def _check(opened: _Opened) -> None:
    media_type = opened.content_type.partition(";")[0].strip().lower()
    if opened.status != 200 or media_type != "text/event-stream":
        raise EventStreamError(
            f"expected status 200 and Content-Type text/event-stream, got status "
            f"{opened.status} and Content-Type {opened.content_type!r}",
            opened.response,
        )


async def aiter_events(
    response: httpx.Response | aiohttp.ClientResponse, decoder: Decoder | None = None
) -> AsyncIterator[ServerSentEvent]:
    """The events of one open response, as they arrive; no reconnection.

    Raises ``EventStreamError`` unless the status is 200 and the Content-Type is
    ``text/event-stream``. Give a ``Decoder`` to keep its ``last_event_id`` and
    ``retry`` afterwards, or to set ``max_event_size``. An event cut off by the end
    of the body is dropped (§9.2.6).
    """
    opened = _opened(response)
    _check(opened)
    decoder = Decoder() if decoder is None else decoder
    try:
        async for chunk in opened.chunks:
            for event in decoder.feed(chunk):
                yield event
    finally:
        decoder.close()


def _transport_errors(client: object) -> tuple[type[BaseException], ...]:
    if _is_httpx(client):
        import httpx

        return (httpx.TransportError,)
    import aiohttp

    return (aiohttp.ClientError, asyncio.TimeoutError)


class EventSource:
    """A reconnecting event stream; make one with ``connect()``.

    Iterate it (once) with ``async for``. ``last_event_id`` is sent as
    ``Last-Event-ID`` on each reconnection; ``retry`` is the reconnection time in
    milliseconds; ``response`` is the latest response. ``aclose()`` (or leaving the
    ``async with`` block) closes the current connection.
    """

    def __init__(
        self,
        client: httpx.AsyncClient | aiohttp.ClientSession,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        last_event_id: str = "",
        retry: int = DEFAULT_RETRY,
        max_reconnects: int | None = None,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
        **request: Any,
    ) -> None:
        if not _is_httpx(client) and type(client).__module__.partition(".")[0] != "aiohttp":
            raise TypeError(
                f"client must be an httpx.AsyncClient or an aiohttp.ClientSession, "
                f"not {type(client).__name__}"
            )
        self._client = client
        self._url = url
        self._method = method
        self._headers = dict(headers or {})
        self._request = request
        self._default_retry = retry
        self._max_reconnects = max_reconnects
        self._decoder = Decoder(last_event_id, max_event_size=max_event_size)
        self._errors = _transport_errors(client)
        self._events: AsyncIterator[ServerSentEvent] | None = None
        self.response: Any = None
        self.reconnects = 0

    @property
    def last_event_id(self) -> str:
        return self._decoder.last_event_id

    @property
    def retry(self) -> int:
        """Milliseconds to wait before reconnecting: the stream's ``retry``, else the default."""
        return self._default_retry if self._decoder.retry is None else self._decoder.retry

    def _request_headers(self) -> dict[str, Any]:
        headers: dict[str, Any] = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        headers.update(self._headers)
        if self.last_event_id:
            # §9.2.4: the header carries the ID encoded as UTF-8.
            value = self.last_event_id
            headers["Last-Event-ID"] = value.encode() if _is_httpx(self._client) else value
        return headers

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[_Opened]:
        client: Any = self._client
        headers = self._request_headers()
        if _is_httpx(client):
            async with client.stream(
                self._method, self._url, headers=headers, **self._request
            ) as response:
                yield _opened(response)
        else:
            async with client.request(
                self._method, self._url, headers=headers, **self._request
            ) as response:
                yield _opened(response)

    async def _stream(self) -> AsyncIterator[ServerSentEvent]:
        decoder = self._decoder
        while True:
            try:
                async with self._open() as opened:
                    self.response = opened.response
                    if opened.status == 204:  # "stop reconnecting" (§9.2.1)
                        return
                    _check(opened)
                    async for chunk in opened.chunks:
                        for event in decoder.feed(chunk):
                            yield event
                failure: BaseException | None = None
            except self._errors as exc:  # a dropped connection is reestablished
                failure = exc
            decoder.close()  # the event cut off, if any, is dropped (§9.2.6)
            if self._max_reconnects is not None and self.reconnects >= self._max_reconnects:
                if failure is not None:
                    raise failure
                return
            self.reconnects += 1
            await anyio.sleep(self.retry / 1000)  # anyio: httpx may run on trio

    def __aiter__(self) -> AsyncIterator[ServerSentEvent]:
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


def connect(
    client: httpx.AsyncClient | aiohttp.ClientSession,
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    last_event_id: str = "",
    retry: int = DEFAULT_RETRY,
    max_reconnects: int | None = None,
    max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
    **request: Any,
) -> EventSource:
    """An ``EventSource`` reading ``url`` through ``client``, reconnecting like a browser.

    ``headers`` are added to ``Accept: text/event-stream``, ``Cache-Control:
    no-store`` and ``Last-Event-ID`` (sent when the last event ID is not empty; seed
    it with ``last_event_id``). ``retry`` is the reconnection time in milliseconds
    until the stream sets one. ``max_reconnects`` bounds reconnections (None: no
    bound, as in browsers); when it is reached, a transport error is raised and a
    stream that ended is simply over. ``max_event_size`` is the decoder's limit.
    Other keyword arguments go to the client's request method (``params``,
    ``timeout``, ...).
    """
    return EventSource(
        client,
        url,
        method=method,
        headers=headers,
        last_event_id=last_event_id,
        retry=retry,
        max_reconnects=max_reconnects,
        max_event_size=max_event_size,
        **request,
    )
