"""aiohttp: a drop-in for aiohttp-sse 3.0's ``sse_response`` and ``EventSourceResponse``.

    from sse_fast.adapters.aiohttp import setup, sse_response, stream

    async def clock(request):
        async with sse_response(request) as resp:
            while resp.is_connected():
                await resp.send(time.strftime("%X"), event="tick")
                await asyncio.sleep(1)
        return resp

    async def tokens(request):      # or stream from an (async) iterable
        return await stream(request, generate_tokens())

    setup(app)                      # streams end cleanly on shutdown

aiohttp-sse's names, parameters and wire bytes, on the sse_fast engine: ``send()`` writes
through a :class:`~sse_fast.stream.StartedStream`. The README lists the differences.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any, TypeVar, overload

from sse_fast._engine.writer import Send
from sse_fast._extras import install_hint
from sse_fast._framing import ServerSentEvent, encode
from sse_fast.adapters._transport import ClientWatch
from sse_fast.stream import EventQueue, SendTimeoutError, Shutdown, StartedStream, StreamOptions

with install_hint("aiohttp", "sse_fast.adapters.aiohttp"):
    from aiohttp import web
    from aiohttp.abc import AbstractStreamWriter
    from aiohttp.http_writer import HttpVersion11

__all__ = [
    "EventSourceResponse",
    "SendTimeoutError",
    "ServerSentEvent",
    "setup",
    "sse_response",
    "stream",
]

Response = TypeVar("Response", bound="EventSourceResponse")
SHUTDOWN_KEY = web.AppKey("sse_fast.shutdown", Shutdown)
_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


def setup(app: web.Application, shutdown: Shutdown | None = None) -> Shutdown:
    """End ``app``'s open streams on its ``on_shutdown``: each gets its
    ``shutdown_grace_period``, then its ``farewell`` and the end of its body. Returns the
    :class:`~sse_fast.stream.Shutdown`, which can also be triggered by hand."""
    shutdown = shutdown if shutdown is not None else Shutdown()

    async def end_streams(app: web.Application) -> None:
        shutdown.trigger()

    app[SHUTDOWN_KEY] = shutdown
    app.on_shutdown.append(end_streams)
    return shutdown


class _Stream(ClientWatch, StartedStream):
    """The engine's stream of one response, which watches its client's transport."""

    __slots__ = (*ClientWatch.SLOTS, "response")
    response: EventSourceResponse

    def body_end(self) -> Send:
        return self.response._end_body


class EventSourceResponse(web.StreamResponse):
    """A response of server-sent events: after :meth:`prepare`, :meth:`send` them.

    Pings every ``ping_interval`` s (``0``: none). A write stalled for ``send_timeout`` s
    (``None``: no limit) is logged in one line, the connection aborted, and ``send()``
    raises :class:`SendTimeoutError`. On shutdown (:func:`setup`) the handler has
    ``shutdown_grace_period`` s, then ``farewell`` is sent and the stream ends.
    """

    DEFAULT_PING_INTERVAL: float = 15
    DEFAULT_SEND_TIMEOUT: float | None = 120
    DEFAULT_SEPARATOR = "\r\n"
    DEFAULT_LAST_EVENT_HEADER = "Last-Event-Id"

    def __init__(
        self,
        *,
        status: int = 200,
        reason: str | None = None,
        headers: Mapping[str, str] | None = None,
        sep: str | None = None,
        allow_all_methods: bool = False,
        send_timeout: float | None = DEFAULT_SEND_TIMEOUT,
        ping_interval: float = DEFAULT_PING_INTERVAL,
        shutdown_grace_period: float = 0.0,
        farewell: ServerSentEvent | bytes | None = None,
    ) -> None:
        super().__init__(status=status, reason=reason, headers=_HEADERS)
        if headers:
            self.headers.update(headers)
        if not isinstance(ping_interval, int | float) or isinstance(ping_interval, bool):
            raise TypeError(f"ping_interval must be a number of seconds: {ping_interval!r}")
        if not ping_interval >= 0:  # aiohttp-sse's words, and what sse_fast accepts
            raise ValueError("ping interval must be positive (or 0: no pings): "
                             f"ping_interval={ping_interval!r}")  # fmt: skip
        self.options = StreamOptions.shared(
            sep=sep if sep is not None else self.DEFAULT_SEPARATOR, ping=ping_interval,
            send_timeout=send_timeout, shutdown_grace_period=shutdown_grace_period,
            farewell=farewell,
        )  # fmt: skip
        self._allow_all_methods = allow_all_methods
        self._queue: EventQueue | None = None  # send() mode
        self._stream: _Stream | None = None
        self._prepare_on_enter: web.BaseRequest | None = None  # from sse_response()

    @property
    def ping_interval(self) -> float:
        """Seconds between two ``: ping`` comments (``0``: no pings)."""
        return self.options.ping or 0

    _ping_interval = ping_interval  # aiohttp-sse's name, which its users read

    @property
    def last_event_id(self) -> str | None:
        """The ``Last-Event-ID`` the client sent (decoded as UTF-8), ``None`` if none."""
        if self._req is None:
            raise RuntimeError("EventSource request must be prepared first")
        for name, value in self._req.raw_headers:
            if name.lower() == b"last-event-id":
                return value.decode("utf-8", "replace")
        return None

    def is_connected(self) -> bool:
        """Whether events can still be sent: False once the client left, the stream was
        stopped or timed out, or the server began shutting down."""
        stream, transport = self._stream, self._req.transport if self._req is not None else None
        if stream is None or stream.stopping or stream.shutdown_begun or transport is None:
            return False
        return not transport.is_closing() and (self._queue is None or not self._queue.closed)

    def enable_compression(self, force: Any = None, strategy: Any = None) -> None:
        raise NotImplementedError("compression would hold events back; it is not supported")

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        """Send the headers; from now on :meth:`send` streams. Methods other than GET get
        405 unless ``allow_all_methods``. Preparing again changes nothing."""
        if not self.prepared:
            queue = EventQueue()
            stream, write = await self._begin(request, queue)
            stream.start(write)  # and the end of the body: _Stream.body_end()
            self._queue = queue
        return self._payload_writer

    async def stream(
        self, request: web.BaseRequest, events: AsyncIterable[Any] | Iterable[Any]
    ) -> None:
        """Prepare, then stream ``events`` (what the engine streams: a sync or async
        iterable of events, ``str``, ``dict`` or framed ``bytes``) until the stream ends.
        The iterable is closed in every case; only what it raised is raised."""
        if self.prepared:
            raise RuntimeError("stream() prepares the response itself: do not prepare it")
        stream, write = await self._begin(request, events)
        try:  # noqa: SIM105 (contextlib.suppress would be one more object per idle stream)
            await stream.run(write, end=self._end_body)
        except SendTimeoutError:
            pass  # logged, and the connection reset

    async def _begin(self, request: web.BaseRequest, source: Any) -> tuple[_Stream, Send]:
        if not self._allow_all_methods and request.method != "GET":
            raise web.HTTPMethodNotAllowed(request.method, ["GET"])
        # Connection: keep-alive is an HTTP/1.1 header; HTTP/1.0 responses end by closing.
        if request.version == HttpVersion11 and "Connection" not in self.headers:
            self.headers["Connection"] = "keep-alive"
        await super().prepare(request)
        config = getattr(request, "config_dict", None)  # a web.Request's app and parents
        # Without setup(app): the loop's current_shutdown() (drain_on_signals(), by hand).
        shutdown = config.get(SHUTDOWN_KEY) if config is not None else None
        self._stream = stream = _Stream(source, options=self.options, shutdown=shutdown)
        stream.response = self
        stream.watch(request.transport)  # aiohttp says so only by cancelling the handler
        assert self._payload_writer is not None
        return stream, self._payload_writer.write  # called by the engine with nothing between

    async def _end_body(self, data: bytes) -> None:
        await super().write_eof(data)
        self._release()

    async def send(
        self, data: str, id: str | None = None, event: str | None = None, retry: int | None = None
    ) -> None:
        """Send one event (``retry`` in milliseconds); invalid fields raise ``ValueError``
        or ``TypeError`` and nothing is sent. Waits while the client is behind."""
        frame = encode(data, id=id, event=event, retry=retry, sep=self.options.sep)
        queue, stream = self._queue, self._stream
        if queue is None or queue.closed or stream is None:
            await self._put(frame)  # raises why not
        else:  # the path of every event: what queue.put() does, one call shorter
            await stream.push(frame)

    async def send_event(self, event: ServerSentEvent) -> None:
        """Send an ``sse_fast.ServerSentEvent`` (any of its fields, comments included)."""
        if not isinstance(event, ServerSentEvent):
            raise TypeError(f"send_event() takes a ServerSentEvent, not {type(event).__name__}")
        await self._put(event)

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write pre-framed bytes, in order with the events sent before them."""
        if self._queue is None:
            await super().write(data)
        else:
            await self._put(bytes(data))

    async def _put(self, item: Any) -> None:
        if self._queue is None:
            not_yet = "send() streams through the response once prepared: call prepare() first"
            iterable = "this response streams from an iterable: yield the event there"
            raise RuntimeError(iterable if self._stream is not None else not_yet)
        try:
            await self._queue.put(item)
        except RuntimeError:  # put() on a closed queue
            raise ConnectionResetError(
                "the stream has ended (stop_streaming() was called)"
            ) from None

    def stop_streaming(self) -> None:
        """End the stream once every event sent so far has been written."""
        if self._queue is None:
            raise RuntimeError(
                "Response is not started" if self._stream is None else "end the iterable instead"
            )
        self._queue.close()  # the stream runs itself to its end

    async def wait(self) -> None:
        """Wait until the stream has ended (stopped, client gone, shut down or timed
        out); cancelling the caller cancels the wait, not the stream."""
        if self._queue is None or self._stream is None:
            raise RuntimeError("Response is not started")
        await asyncio.shield(self._stream.run_to_end())

    async def __aenter__(self: Response) -> Response:
        request, self._prepare_on_enter = self._prepare_on_enter, None
        if request is not None:
            await self.prepare(request)
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        """Leaving normally ends the stream once what was sent is written; with an
        exception, stops it and lets it through, except this stream's own (logged)
        :class:`SendTimeoutError`."""
        stream = self._stream
        if self._queue is None or stream is None:
            return False
        if exc is None:
            self.stop_streaming()
            await self.wait()
            return False
        stream.stop()
        return isinstance(exc, SendTimeoutError) and stream.timed_out

    async def write_eof(self, data: bytes = b"") -> None:
        if self._queue is not None and self._stream is not None:  # send(): its events first
            self._queue.close()
            await asyncio.wait([self._stream.run_to_end()])
        await super().write_eof(data)
        self._release()

    def _release(self) -> None:
        if self._stream is not None:
            self._stream.release()  # keep-alive: the connection serves on


@overload
def sse_response(
    request: web.BaseRequest, *, response_cls: type[Response], **options: Any
) -> Response: ...


@overload
def sse_response(request: web.BaseRequest, **options: Any) -> EventSourceResponse: ...


def sse_response(
    request: web.BaseRequest,
    *,
    response_cls: type[EventSourceResponse] = EventSourceResponse,
    **options: Any,
) -> EventSourceResponse:
    """A response to ``send()`` through, prepared when entered as an async context manager.

    ``options`` are :class:`EventSourceResponse`'s (``status``, ``headers``, ``sep``,
    ``send_timeout``, ``ping_interval``, ...). Leaving the block normally writes every
    event sent, ends the stream and raises nothing; leaving it with an exception stops
    the stream at once and lets the exception through. Return the response afterwards.
    """
    response = _response(response_cls, options)
    response._prepare_on_enter = request  # no generator: less memory per idle stream
    return response


async def stream(
    request: web.BaseRequest,
    events: AsyncIterable[Any] | Iterable[Any],
    *,
    response_cls: type[EventSourceResponse] = EventSourceResponse,
    **options: Any,
) -> EventSourceResponse:
    """Stream ``events`` (see :meth:`EventSourceResponse.stream`) and return the response:
    ``return await stream(request, generate())``. ``options`` are
    :class:`EventSourceResponse`'s."""
    response = _response(response_cls, options)
    await response.stream(request, events)
    return response


def _response(response_cls: type[Response], options: dict[str, Any]) -> Response:
    if not (isinstance(response_cls, type) and issubclass(response_cls, EventSourceResponse)):
        raise TypeError(
            f"response_cls must be a subclass of EventSourceResponse, got {response_cls!r}"
        )
    return response_cls(**options)
