"""aiohttp: a drop-in for aiohttp-sse 3.0's ``sse_response`` and ``EventSourceResponse``.

    from sse_fast.adapters.aiohttp import sse_response, stream

    async def clock(request):
        async with sse_response(request) as resp:
            while resp.is_connected():
                await resp.send(time.strftime("%X"), event="tick")
                await asyncio.sleep(1)
        return resp

    async def tokens(request):                  # or stream from an (async) iterable
        return await stream(request, generate_tokens())

    app = web.Application()
    setup(app)                                  # streams end cleanly on shutdown

The names, parameters and default wire bytes are aiohttp-sse's (``\\r\\n`` separators,
field order id, event, data, retry, ``: ping`` comments, its headers), so an app switches
by changing its import. Underneath, ``send()`` frames with the core and hands events to
the sse_fast engine (or writes them itself when that cannot block or overtake anything),
so pings, the send timeout, disconnects and shutdown are the engine's, and events sent
in the same turn of the event loop leave in one write. Where aiohttp-sse falls short (pings that
cannot be disabled, a ``wait()`` that swallowed cancellation, an internal
``CancelledError`` on normal completion, ``Connection: keep-alive`` on HTTP/1.0) this
module differs; the README lists every difference.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, TypeVar, overload

from sse_fast._extras import install_hint
from sse_fast._framing import ServerSentEvent, encode
from sse_fast.stream import EventStream, Outcome, SendTimeoutError, Shutdown, current_shutdown

with install_hint("aiohttp", "sse_fast.adapters.aiohttp"):
    from aiohttp import web
    from aiohttp.abc import AbstractStreamWriter
    from aiohttp.http_writer import HttpVersion11, StreamWriter

__all__ = [
    "EventSourceResponse",
    "SendTimeoutError",
    "ServerSentEvent",
    "setup",
    "sse_response",
    "stream",
]

SHUTDOWN_KEY = web.AppKey("sse_fast.shutdown", Shutdown)

# send() yields to the event loop once its oldest queued event is this old, so that a
# handler that never awaits anything else still gets its events written promptly.
_QUEUE_LATENCY = 0.005
# Past this many queued bytes send() waits until the engine has taken them.
_QUEUE_BYTES = 65536
# How often the transports of open streams are looked at (see _DisconnectWatch).
_DISCONNECT_POLL = 0.2
_TCP_USER_TIMEOUT: int | None = getattr(socket, "TCP_USER_TIMEOUT", None)


def setup(app: web.Application, shutdown: Shutdown | None = None) -> Shutdown:
    """End ``app``'s open streams when it shuts down (from aiohttp's ``on_shutdown``).

    Every response prepared for ``app`` (or a sub-application) then drains on shutdown:
    its ``shutdown_grace_period``, its ``farewell``, and the end of its body, so the
    server does not wait ``shutdown_timeout`` for endless streams. Without ``setup``,
    streams drain when the process receives SIGINT or SIGTERM instead. Returns the
    :class:`~sse_fast.stream.Shutdown`, which can also be triggered by hand.
    """
    shutdown = shutdown if shutdown is not None else Shutdown()

    async def end_streams(app: web.Application) -> None:
        shutdown.trigger()

    app[SHUTDOWN_KEY] = shutdown
    app.on_shutdown.append(end_streams)
    return shutdown


class _DisconnectWatch:
    """Wakes the streams of one event loop whose client has gone.

    aiohttp tells a handler that its client left only by cancelling it, and only when the
    server runs with ``handler_cancellation=True``; otherwise the one sign is that the
    request's transport is gone or closing. One timer per loop looks at the transport of
    every open stream every ``_DISCONNECT_POLL`` seconds, rather than one timer each.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: dict[asyncio.Future[None], web.BaseRequest] = {}
        self._timer: asyncio.TimerHandle | None = None

    async def wait(self, request: web.BaseRequest) -> None:
        future = self._loop.create_future()
        self._waiting[future] = request
        if self._timer is None:
            self._timer = self._loop.call_later(_DISCONNECT_POLL, self._poll)
        try:
            await future
        finally:
            del self._waiting[future]

    def _poll(self) -> None:
        self._timer = None
        for future, request in self._waiting.items():
            transport = request.transport
            if (transport is None or transport.is_closing()) and not future.done():
                future.set_result(None)
        if self._waiting:
            self._timer = self._loop.call_later(_DISCONNECT_POLL, self._poll)


_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _DisconnectWatch] = (
    weakref.WeakKeyDictionary()
)


def _disconnect_watch() -> _DisconnectWatch:
    loop = asyncio.get_running_loop()
    watch = _watches.get(loop)
    if watch is None:
        watch = _watches[loop] = _DisconnectWatch(loop)
    return watch


class _Outbox:
    """The framed events that ``send()`` queued and the engine has not taken yet.

    To the engine it is the stream's source: each step yields everything queued since
    the last one as one ``bytes``, so events sent while a write was under way leave
    together in the next.
    """

    __slots__ = ("closed", "frames", "oldest", "ready", "room", "size")

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.size = 0
        self.oldest = 0.0  # when the first of the queued frames was queued
        self.closed = False
        self.ready: asyncio.Future[None] | None = None  # the engine waits for frames
        self.room: asyncio.Future[None] | None = None  # senders wait for space

    def put(self, frame: bytes) -> None:
        if not self.frames:
            self.oldest = time.monotonic()
            if self.ready is not None:
                _wake(self.ready)
                self.ready = None
        self.frames.append(frame)
        self.size += len(frame)

    async def wait_room(self) -> None:
        if self.room is None or self.room.done():
            self.room = asyncio.get_running_loop().create_future()
        # Shared by every waiting send(): one caller's cancellation must not cancel it.
        await asyncio.shield(self.room)

    def close(self) -> None:
        self.closed = True
        self._wake_all()

    def _wake_all(self) -> None:
        for future in (self.ready, self.room):
            if future is not None:
                _wake(future)
        self.ready = self.room = None

    def __aiter__(self) -> _Outbox:
        return self

    async def __anext__(self) -> bytes:
        while not self.frames:
            if self.closed:
                raise StopAsyncIteration
            self.ready = asyncio.get_running_loop().create_future()
            await self.ready
        return self.take()

    def take(self) -> bytes:
        frames = self.frames
        self.frames = []
        self.size = 0
        if self.room is not None:
            _wake(self.room)
            self.room = None
        return frames[0] if len(frames) == 1 else b"".join(frames)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _ShutdownNotice:
    """The engine's ``shutdown_event``: marks the response as ending."""

    __slots__ = ("response",)

    def __init__(self, response: EventSourceResponse) -> None:
        self.response = response

    def set(self) -> None:
        self.response._shutting_down = True


class EventSourceResponse(web.StreamResponse):
    """A response of server-sent events, driven by the sse_fast engine.

    After :meth:`prepare`, :meth:`send` writes an event at once when nothing is waiting
    and the write cannot block (once per turn of the event loop), and otherwise queues it
    for the engine, which writes what is queued as soon as the handler yields to the event
    loop; past ``_QUEUE_BYTES`` queued, send() waits for the client (backpressure). It
    pings every ``ping_interval`` seconds (``0``: never), ends the stream when a write
    stalls for ``send_timeout`` seconds (``None``: never) and notices a client that left
    within a fraction of a second. On server shutdown (see :func:`setup`) the handler
    has ``shutdown_grace_period`` seconds to finish, then ``farewell`` is sent and the
    stream ends. Once the stream has ended, :meth:`send` raises ``ConnectionResetError``
    (``SendTimeoutError``, a ``TimeoutError``, after a send timeout).
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
        super().__init__(status=status, reason=reason)
        self.headers["Content-Type"] = "text/event-stream"
        self.headers["Cache-Control"] = "no-cache"
        self.headers["X-Accel-Buffering"] = "no"
        if headers is not None:
            self.headers.update(headers)
        self._sep = sep if sep is not None else self.DEFAULT_SEPARATOR
        self._allow_all_methods = allow_all_methods
        self._send_timeout = send_timeout
        if not isinstance(ping_interval, int | float) or isinstance(ping_interval, bool):
            raise TypeError(f"ping_interval must be a number of seconds: {ping_interval!r}")
        if not ping_interval >= 0:
            raise ValueError(f"ping_interval must be >= 0 (0 disables pings): {ping_interval!r}")
        self._ping_interval = ping_interval
        self._grace = shutdown_grace_period
        self._farewell = farewell
        # Checked here, so that a bad option fails before the response starts.
        self._make_stream(())
        self._outbox: _Outbox | None = None  # send() mode: what the engine drains
        self._task: asyncio.Task[None] | None = None  # send() mode: the engine's task
        self._stream: EventStream | None = None  # send() mode
        self._direct_writer: StreamWriter | None = None
        self._wrote_directly = False
        self._engine_writing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = False  # the engine is streaming (either mode)
        self._shutting_down = False
        self._outcome: Outcome | None = None
        self._error: BaseException | None = None
        self._saved_user_timeout: int | None = None
        self._timed_socket: socket.socket | None = None

    @property
    def ping_interval(self) -> float:
        """Seconds between two ``: ping`` comments (``0``: no pings)."""
        return self._ping_interval

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
        return self._running and not self._shutting_down and not self._outbox_closed()

    def _outbox_closed(self) -> bool:
        return self._outbox is not None and self._outbox.closed

    def enable_compression(self, force: Any = None, strategy: Any = None) -> None:
        raise NotImplementedError("compression would hold events back; it is not supported")

    # ------------------------------------------------------------ starting

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        """Send the headers and start streaming what :meth:`send` queues.

        Methods other than GET get 405 unless ``allow_all_methods``. Preparing again
        (aiohttp does so after the handler returns) changes nothing.
        """
        if self.prepared:
            return self._payload_writer
        writer = await self._start_response(request)
        self._outbox = _Outbox()
        self._running = True
        self._stream = stream = self._make_stream(self._outbox, request)
        if isinstance(writer, StreamWriter):  # its write(drain=False) never waits
            self._direct_writer = writer
            self._loop = asyncio.get_running_loop()
        self._task = asyncio.get_running_loop().create_task(self._run_in_background(stream))
        return writer

    async def stream(
        self, request: web.BaseRequest, events: AsyncIterable[Any] | Iterable[Any]
    ) -> None:
        """Prepare, then stream ``events`` in the handler's task until the stream ends.

        ``events`` is a sync or async iterable of ``ServerSentEvent``, ``str`` (data),
        ``dict`` (fields) or pre-framed ``bytes``, as for the sse_fast engine. The stream
        ends when it is exhausted, the client leaves, a send stalls for ``send_timeout``
        (the connection is then aborted) or the server shuts down; in every case the
        iterable is closed, so its ``finally`` runs, and nothing is raised but what the
        iterable raised.
        """
        if self.prepared:
            raise RuntimeError("stream() prepares the response itself: do not prepare it")
        await self._start_response(request)
        self._running = True
        try:
            self._outcome = await self._make_stream(events, request).run(
                self._write_body, lambda: _disconnect_watch().wait(request)
            )
        except SendTimeoutError as exc:
            self._error = exc
            self._abort()
        finally:
            self._running = False

    async def _start_response(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        if not self._allow_all_methods and request.method != "GET":
            raise web.HTTPMethodNotAllowed(request.method, ["GET"])
        # Connection: keep-alive is an HTTP/1.1 header; HTTP/1.0 responses end by closing.
        if request.version == HttpVersion11 and "Connection" not in self.headers:
            self.headers["Connection"] = "keep-alive"
        self._set_tcp_user_timeout(request)
        return await super().prepare(request)

    def _make_stream(self, source: Any, request: web.BaseRequest | None = None) -> EventStream:
        shutdown: Shutdown | None = None
        if request is not None:
            config = getattr(request, "config_dict", None)  # a web.Request's app and parents
            shutdown = config.get(SHUTDOWN_KEY) if config is not None else None
            if shutdown is None:  # no setup(app): the process's SIGINT and SIGTERM
                shutdown = current_shutdown()
        return EventStream(
            source,
            sep=self._sep,
            ping=self._ping_interval,
            send_timeout=self._send_timeout,
            shutdown=shutdown if shutdown is not None else Shutdown(),
            shutdown_event=_ShutdownNotice(self),
            shutdown_grace_period=self._grace,
            farewell=self._farewell,
        )

    async def _run_in_background(self, stream: EventStream) -> None:
        request = self._req
        assert request is not None
        assert self._outbox is not None
        try:
            self._outcome = await stream.run(
                self._write_body, lambda: _disconnect_watch().wait(request)
            )
        except SendTimeoutError as exc:
            self._error = exc
            self._abort()
        except Exception as exc:  # raised by wait() and the next send()
            self._error = exc
        finally:
            self._running = False
            self._outbox.close()  # senders waiting for room wake up and raise

    async def _write_body(self, data: bytes) -> None:
        writer = self._payload_writer
        if writer is None or self._eof_sent:
            raise ConnectionResetError("the response has ended")
        self._engine_writing = True
        try:
            await writer.write(data)
        finally:
            self._engine_writing = False

    # ------------------------------------------------------------ sending

    async def send(
        self,
        data: str,
        id: str | None = None,
        event: str | None = None,
        retry: int | None = None,
    ) -> None:
        """Queue one event: ``data`` (split into one ``data:`` line per line), ``id``
        (no CR, LF or NUL), ``event`` (no CR or LF), ``retry`` (milliseconds, an int >= 0).

        Invalid fields raise ``ValueError`` or ``TypeError`` and nothing is sent.
        """
        await self._queue(encode(data, id=id, event=event, retry=retry, sep=self._sep))

    async def send_event(self, event: ServerSentEvent) -> None:
        """Queue an ``sse_fast.ServerSentEvent`` (any of its fields, comments included)."""
        if not isinstance(event, ServerSentEvent):
            raise TypeError(f"send_event() takes a ServerSentEvent, not {type(event).__name__}")
        await self._queue(event.encode(self._sep))

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write pre-framed bytes, in order with the events queued before them."""
        if self._outbox is None:
            await super().write(data)
        else:
            await self._queue(bytes(data))

    async def _queue(self, frame: bytes) -> None:
        outbox = self._outbox
        if outbox is None:
            raise RuntimeError(
                "send() streams through the response once prepared: call prepare() first"
                if not self._running
                else "this response streams from an iterable: yield the event there"
            )
        if outbox.closed:
            self._raise_ended()
        data = self._write_at_once(outbox, frame)
        if data is not None:
            # Once per turn of the loop: events sent after this one in the same turn are
            # queued, and leave together in the next write.
            self._wrote_directly = True
            self._loop.call_soon(self._allow_direct_write)  # type: ignore[union-attr]
            try:
                await self._direct_writer.write(data, drain=False)  # type: ignore[union-attr]
            except ConnectionResetError:
                raise ConnectionResetError("the client has disconnected") from None
            return
        outbox.put(frame)
        if outbox.size >= _QUEUE_BYTES:
            await outbox.wait_room()
            if not self._running and outbox.frames:  # the stream ended before taking them
                self._raise_ended()
        elif time.monotonic() - outbox.oldest > _QUEUE_LATENCY:
            await asyncio.sleep(0)

    def _write_at_once(self, outbox: _Outbox, frame: bytes) -> bytes | None:
        """What to write now, in order, when a write cannot block: everything queued and
        ``frame``. ``None``: queue ``frame`` for the engine instead."""
        if (
            self._wrote_directly  # once per turn of the loop: the rest leaves together
            or self._engine_writing  # the engine's write is under way: wait for it
            or self._direct_writer is None
            or self._direct_writer.protocol.writing_paused  # the client is behind
            or self._stream is None
        ):
            return None
        unsent = self._stream.take_unsent()
        if unsent is None:
            return None
        if outbox.frames:
            unsent += outbox.take()
        return unsent + frame if unsent else frame

    def _allow_direct_write(self) -> None:
        self._wrote_directly = False

    def _raise_ended(self) -> None:
        if isinstance(self._error, SendTimeoutError):
            raise SendTimeoutError(str(self._error))
        if self._outcome is Outcome.DISCONNECTED:
            raise ConnectionResetError("the client has disconnected")
        if self._outcome is Outcome.SHUTDOWN or self._shutting_down:
            raise ConnectionResetError("the server is shutting down: the stream has ended")
        raise ConnectionResetError("the stream has ended (stop_streaming() was called)")

    # ------------------------------------------------------------ ending

    def stop_streaming(self) -> None:
        """End the stream once every event queued so far has been written."""
        if self._outbox is None:
            raise RuntimeError(
                "Response is not started" if not self._running else "end the iterable instead"
            )
        self._outbox.close()

    async def wait(self) -> None:
        """Wait until the stream has ended: stopped, client gone, shut down or timed out.

        Cancelling the caller cancels the wait (the ``CancelledError`` is raised), not
        the stream.
        """
        if self._task is None:
            raise RuntimeError("Response is not started")
        if not self._task.done():
            await asyncio.shield(self._task)
        if self._error is not None and not isinstance(self._error, SendTimeoutError):
            raise self._error

    async def __aenter__(self) -> EventSourceResponse:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._task is None:
            return
        if exc is None:
            self.stop_streaming()  # a normal end: what was sent is written, nothing raised
            await self.wait()
        elif not self._task.done():
            self._task.cancel()  # the handler failed or was cancelled: stop now
            await asyncio.wait([self._task])

    async def write_eof(self, data: bytes = b"") -> None:
        try:
            if self._task is not None and not self._task.done():
                self.stop_streaming()
                await asyncio.shield(self._task)
            await super().write_eof(data)
        finally:
            self._restore_tcp_user_timeout()

    def _abort(self) -> None:
        """A stalled client never drains the buffer, so a graceful close would hang."""
        if self._req is not None and (transport := self._req.transport) is not None:
            transport.abort()

    # ------------------------------------------------------------ TCP_USER_TIMEOUT

    def _set_tcp_user_timeout(self, request: web.BaseRequest) -> None:
        """Ask the kernel to drop the connection when sent data stays unacknowledged for
        ``send_timeout``: a peer that vanished is noticed even when no write blocks."""
        if self._send_timeout is None or _TCP_USER_TIMEOUT is None:
            return
        transport = request.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        self._saved_user_timeout = sock.getsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT)
        self._timed_socket = sock
        sock.setsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT, int(self._send_timeout * 1000))

    def _restore_tcp_user_timeout(self) -> None:
        """The connection may serve further requests (keep-alive) with its own timeout."""
        sock, self._timed_socket = self._timed_socket, None
        if sock is not None and _TCP_USER_TIMEOUT is not None and sock.fileno() >= 0:
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT, self._saved_user_timeout or 0)


Response = TypeVar("Response", bound=EventSourceResponse)


@overload
def sse_response(
    request: web.BaseRequest,
    *,
    status: int = 200,
    reason: str | None = None,
    headers: Mapping[str, str] | None = None,
    sep: str | None = None,
    allow_all_methods: bool = False,
    send_timeout: float | None = EventSourceResponse.DEFAULT_SEND_TIMEOUT,
    ping_interval: float = EventSourceResponse.DEFAULT_PING_INTERVAL,
    shutdown_grace_period: float = 0.0,
    farewell: ServerSentEvent | bytes | None = None,
) -> AbstractAsyncContextManager[EventSourceResponse]: ...


@overload
def sse_response(
    request: web.BaseRequest,
    *,
    status: int = 200,
    reason: str | None = None,
    headers: Mapping[str, str] | None = None,
    sep: str | None = None,
    allow_all_methods: bool = False,
    send_timeout: float | None = EventSourceResponse.DEFAULT_SEND_TIMEOUT,
    ping_interval: float = EventSourceResponse.DEFAULT_PING_INTERVAL,
    shutdown_grace_period: float = 0.0,
    farewell: ServerSentEvent | bytes | None = None,
    response_cls: type[Response],
) -> AbstractAsyncContextManager[Response]: ...


def sse_response(
    request: web.BaseRequest,
    *,
    status: int = 200,
    reason: str | None = None,
    headers: Mapping[str, str] | None = None,
    sep: str | None = None,
    allow_all_methods: bool = False,
    send_timeout: float | None = EventSourceResponse.DEFAULT_SEND_TIMEOUT,
    ping_interval: float = EventSourceResponse.DEFAULT_PING_INTERVAL,
    shutdown_grace_period: float = 0.0,
    farewell: ServerSentEvent | bytes | None = None,
    response_cls: type[EventSourceResponse] = EventSourceResponse,
) -> AbstractAsyncContextManager[EventSourceResponse]:
    """A prepared response to ``send()`` through, as an async context manager.

    Leaving the block normally writes every event sent, ends the stream and raises
    nothing; leaving it with an exception (or a cancellation) stops the stream at once
    and lets the exception through. Return the response from the handler afterwards.
    """
    response = _response(response_cls, locals())
    return _streaming(response, request)


@contextlib.asynccontextmanager
async def _streaming(response: Response, request: web.BaseRequest) -> AsyncIterator[Response]:
    await response.prepare(request)
    async with response:
        yield response


async def stream(
    request: web.BaseRequest,
    events: AsyncIterable[Any] | Iterable[Any],
    *,
    status: int = 200,
    reason: str | None = None,
    headers: Mapping[str, str] | None = None,
    sep: str | None = None,
    allow_all_methods: bool = False,
    send_timeout: float | None = EventSourceResponse.DEFAULT_SEND_TIMEOUT,
    ping_interval: float = EventSourceResponse.DEFAULT_PING_INTERVAL,
    shutdown_grace_period: float = 0.0,
    farewell: ServerSentEvent | bytes | None = None,
    response_cls: type[EventSourceResponse] = EventSourceResponse,
) -> EventSourceResponse:
    """Stream ``events`` (see :meth:`EventSourceResponse.stream`) and return the response:

    async def handler(request):
        return await stream(request, generate())
    """
    response = _response(response_cls, locals())
    await response.stream(request, events)
    return response


_OPTIONS = (
    "status",
    "reason",
    "headers",
    "sep",
    "allow_all_methods",
    "send_timeout",
    "ping_interval",
    "shutdown_grace_period",
    "farewell",
)


def _response(response_cls: type[Response], arguments: dict[str, Any]) -> Response:
    if not (isinstance(response_cls, type) and issubclass(response_cls, EventSourceResponse)):
        raise TypeError(
            f"response_cls must be a subclass of EventSourceResponse, got {response_cls!r}"
        )
    return response_cls(**{name: arguments[name] for name in _OPTIONS})
