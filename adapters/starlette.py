"""Starlette and FastAPI: a drop-in for sse-starlette's ``EventSourceResponse``.

    from sse_fast.adapters.starlette import EventSourceResponse, ServerSentEvent

    async def numbers(request):
        async def events():
            for n in range(10):
                yield ServerSentEvent(str(n), id=str(n))
        return EventSourceResponse(events())

The public names, parameters and default wire bytes are those of sse-starlette 3.x
(``\\r\\n`` separators, field order, headers), so an app switches by changing its
import. Where sse-starlette mangles input (newlines stripped from ``id`` and ``event``,
``retry: True``, an ``id`` with NUL), this module raises instead; the README lists
every difference. Its streams log under sse-starlette's logger name,
``sse_starlette.sse`` (:data:`logger`), so that an app's logging configuration for it
(levels, filters, alerts on a cleanup cut off) keeps working after the switch.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import weakref
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
)
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any, ClassVar

import anyio

import sse_fast
from sse_fast._extras import install_hint
from sse_fast.adapters.asgi import draining, last_event_id_of, sse_headers, stream_response
from sse_fast.stream import EventStream, SendTimeoutError, Shutdown, StreamOptions, current_shutdown

with install_hint("starlette", "sse_fast.adapters.starlette"):
    from starlette.background import BackgroundTask
    from starlette.requests import HTTPConnection
    from starlette.responses import Response
    from starlette.types import Message, Receive, Scope, Send

__all__ = [
    "DEFAULT_CLEANUP_TIMEOUT",
    "DEFAULT_PING_INTERVAL",
    "DEFAULT_SEPARATOR",
    "AppStatus",
    "EventSourceResponse",
    "JSONServerSentEvent",
    "SendTimeoutError",
    "ServerSentEvent",
    "ensure_bytes",
    "last_event_id",
    "lifespan",
]

DEFAULT_PING_INTERVAL = 15
DEFAULT_SEPARATOR = "\r\n"
DEFAULT_CLEANUP_TIMEOUT = 30.0
# sse-starlette's name: the switch keeps an app's logging configuration working.
logger = logging.getLogger("sse_starlette.sse")


def last_event_id(request: HTTPConnection) -> str:
    """The request's ``Last-Event-ID`` as the browser meant it ("" if none).

    Browsers send the id's UTF-8 bytes; Starlette's ``request.headers`` decodes header
    values as Latin-1, which turns a non-ASCII id into mojibake. This reads the raw bytes.
    """
    return last_event_id_of(request.scope)


def lifespan(
    shutdown: Shutdown | None = None, *, signals: bool = False
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A lifespan for ``Starlette(lifespan=...)`` (or FastAPI) that ends open streams.

    When the app shuts down, ``shutdown`` (default: the event loop's
    :func:`~sse_fast.stream.current_shutdown`, which every ``EventSourceResponse`` uses)
    is triggered: each stream gets its grace period and ends cleanly. With ``signals``,
    SIGINT and SIGTERM trigger it while the app runs (then handed to the server's own
    handlers): uvicorn runs the lifespan shutdown only after every connection closed,
    so with uvicorn this is what makes Ctrl-C end endless streams at once.
    """

    @contextlib.asynccontextmanager
    async def run(app: Any) -> AsyncIterator[None]:
        async with draining(shutdown, signals=signals):
            yield

    return run


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_text(value: Any) -> Any:
    """sse-starlette formats numbers with str(); other non-text values are refused."""
    return str(value) if _is_number(value) else value


class ServerSentEvent(sse_fast.ServerSentEvent):
    """sse-starlette's event: numbers as ``data`` or ``id`` are accepted, ``sep`` is kept.

    ``sep`` (default ``"\\r\\n"``) is used by :meth:`encode`; inside an
    ``EventSourceResponse`` the response's own ``sep`` frames every event.
    """

    __slots__ = ("sep",)
    sep: str

    def __init__(
        self,
        data: Any = None,
        *,
        event: str | None = None,
        id: str | int | None = None,
        retry: int | timedelta | None = None,
        comment: str | None = None,
        sep: str | None = None,
    ) -> None:
        super().__init__(_as_text(data), event=event, id=_as_text(id), retry=retry, comment=comment)
        object.__setattr__(self, "sep", sep or DEFAULT_SEPARATOR)

    def encode(self, sep: str | None = None) -> bytes:
        return super().encode(sep or self.sep)


class JSONServerSentEvent(ServerSentEvent):
    """An event whose data is ``data`` as compact JSON (UTF-8, no NaN)."""

    __slots__ = ()

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        # No data (a comment only, say) is no data line, not "data: null".
        text = (
            None
            if data is None
            else json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        )
        super().__init__(text, **kwargs)


# ------------------------------------------------------------ items as sse-starlette takes them


def _item(item: Any) -> Any:
    """An item as the engine takes it (the engine's ``convert``, called for items other
    than ``str`` and events): numbers become their ``str()`` (as sse-starlette formats
    them), in dicts too; a dict's ``sep`` is the response's. Anything else is left to
    the engine, which refuses what it cannot send."""
    if type(item) is dict:
        # Per event: plain text fields and no sep (the common case) cost two lookups.
        data = item.get("data")
        ident = item.get("id")
        if (
            (data is None or type(data) is str)
            and (ident is None or type(ident) is str)
            and "sep" not in item
        ):
            return item
        item = {k: _as_text(v) if k in ("data", "id") else v for k, v in item.items()}
        item.pop("sep", None)
        return item
    return str(item) if _is_number(item) else item


def ensure_bytes(data: Any, sep: str | None = None) -> bytes:
    """One item of the content encoded as the response sends it (sse-starlette's helper).

    ``bytes`` and ``memoryview`` pass as they are; ``str``, numbers and dicts are framed
    with ``sep`` (default ``"\\r\\n"``); an event keeps its own ``sep``.
    """
    item = _item(data)
    if isinstance(item, bytes | bytearray | memoryview):
        return bytes(item)
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, sse_fast.ServerSentEvent):
        return item.encode(sep or DEFAULT_SEPARATOR)
    if isinstance(item, str):
        return sse_fast.encode(item, sep=sep or DEFAULT_SEPARATOR)
    if isinstance(item, dict):
        return ServerSentEvent(**item, sep=sep).encode()
    raise TypeError(f"cannot encode {type(data).__name__}: give an event, dict, str or bytes")


# ------------------------------------------------------------ AppStatus


class _AppStatusType(type):
    def __setattr__(cls, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "should_exit" and value:
            cls._drain()  # type: ignore[attr-defined]


class AppStatus(metaclass=_AppStatusType):
    """sse-starlette's shutdown switch, driving sse_fast's :class:`~sse_fast.stream.Shutdown`.

    ``AppStatus.should_exit = True`` drains every open stream as a server shutdown
    does (``shutdown_event`` set, ``shutdown_grace_period``, then the end of the body),
    sets ``should_exit_event`` when one is given, and streams opened while it stays
    true drain at once. Set it from the event loop's thread. Tests reset it with
    ``AppStatus.should_exit = False`` and ``AppStatus.should_exit_event = None``.
    Nothing is patched into the server: :func:`lifespan` drains the streams when the
    app shuts down (and on SIGINT/SIGTERM with ``signals=True``), unless
    :meth:`disable_automatic_graceful_drain` was called, after which only
    ``should_exit`` (or :meth:`handle_exit`) does.
    """

    should_exit: ClassVar[bool] = False
    should_exit_event: ClassVar[Any] = None
    enable_automatic_graceful_drain: ClassVar[bool] = True
    original_handler: ClassVar[Callable[..., object] | None] = None
    _shutdowns: ClassVar[weakref.WeakSet[Shutdown]] = weakref.WeakSet()
    _exit_waiters: ClassVar[set[anyio.Event]] = set()

    @staticmethod
    def disable_automatic_graceful_drain() -> None:
        """Let the server's shutdown leave the streams alone: only ``should_exit`` drains."""
        AppStatus.enable_automatic_graceful_drain = False

    @staticmethod
    def enable_automatic_graceful_drain_mode() -> None:
        """Undo :meth:`disable_automatic_graceful_drain`."""
        AppStatus.enable_automatic_graceful_drain = True

    @staticmethod
    def handle_exit(*args: Any, **kwargs: Any) -> None:
        """Drain the streams (unless disabled), then call ``original_handler`` if set."""
        if AppStatus.enable_automatic_graceful_drain:
            AppStatus.should_exit = True
        if AppStatus.original_handler is not None:
            AppStatus.original_handler(*args, **kwargs)

    @classmethod
    def _drain(cls) -> None:
        if cls.should_exit_event is not None:
            cls.should_exit_event.set()
        for shutdown in list(cls._shutdowns):
            shutdown.trigger()
        for waiter in list(cls._exit_waiters):
            waiter.set()

    @classmethod
    def _shutdown_for_stream(cls, private: bool = False) -> Shutdown:
        """The stream's Shutdown: the loop's (drained by :func:`lifespan` and by
        ``should_exit``), or with ``private`` or automatic drain disabled, its own."""
        own = private or not cls.enable_automatic_graceful_drain
        shutdown = Shutdown() if own else current_shutdown()
        cls._shutdowns.add(shutdown)
        if cls.should_exit:
            shutdown.trigger()
        return shutdown


# ------------------------------------------------------------ the response

Content = AsyncIterable[Any] | Iterable[Any]


@functools.lru_cache(maxsize=64)
def _options(
    sep: str,
    ping: float,
    factory: Callable[[], sse_fast.ServerSentEvent] | None,
    send_timeout: float | None,
    grace: float,
    cleanup_timeout: float | None,
    farewell: sse_fast.ServerSentEvent | bytes | None,
) -> StreamOptions:
    """Options shared by the responses built alike (most of an app's), checked once."""
    return StreamOptions(
        sep=sep,
        ping=ping,
        ping_message_factory=factory,
        send_timeout=send_timeout,
        shutdown_grace_period=grace,
        convert=_item,
        cleanup_timeout=cleanup_timeout,
        farewell=farewell,
        logger=logger,
    )


class EventSourceResponse(Response):
    """A streaming response of server-sent events, driven by the sse_fast engine.

    ``content`` is a sync or async iterable of ``ServerSentEvent``, ``dict``, ``str`` or
    pre-framed ``bytes``. ``ping`` seconds between heartbeats (``0``: none),
    ``ping_message_factory`` builds the heartbeat event, ``send_timeout`` ends the
    stream with :class:`SendTimeoutError` when the client stops reading,
    ``data_sender_callable`` runs beside the stream (it is cancelled when the stream
    ends), ``client_close_handler_callable(message)`` is awaited when the client leaves.
    On server shutdown, ``shutdown_event`` is set, the content gets
    ``shutdown_grace_period`` seconds to finish, and the response ends cleanly: no
    monkey-patching of the server and no process-wide flag is involved
    (:class:`AppStatus` triggers the same by hand); ``farewell`` (an event, framed with
    the response's ``sep``, or framed bytes) is the last thing sent then.
    ``cleanup_timeout`` bounds the closing of a source that waits at a ``yield`` when the
    stream ends (``None``: no bound).
    Headers are final when the response is built: the caller's ``Cache-Control`` (and
    any other header) wins over ``no-store``; ``X-Accel-Buffering: no`` and
    ``Connection: keep-alive`` (HTTP/1.1 only) are forced, since a buffered or closed
    event stream does not work.
    """

    DEFAULT_PING_INTERVAL = DEFAULT_PING_INTERVAL
    DEFAULT_SEPARATOR = DEFAULT_SEPARATOR
    DEFAULT_CLEANUP_TIMEOUT = DEFAULT_CLEANUP_TIMEOUT

    def __init__(
        self,
        content: Content,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str = "text/event-stream",
        background: BackgroundTask | None = None,
        ping: float | None = None,
        sep: str | None = None,
        ping_message_factory: Callable[[], sse_fast.ServerSentEvent] | None = None,
        data_sender_callable: Callable[[], Coroutine[Any, Any, None]] | None = None,
        send_timeout: float | None = None,
        client_close_handler_callable: Callable[[Any], Awaitable[None]] | None = None,
        shutdown_event: Any = None,
        shutdown_grace_period: float = 0,
        cleanup_timeout: float | None = DEFAULT_CLEANUP_TIMEOUT,
        farewell: sse_fast.ServerSentEvent | bytes | None = None,
    ) -> None:
        if sep is not None and sep not in ("\r\n", "\r", "\n"):
            raise ValueError(f"sep must be one of: \\r\\n, \\r, \\n, got: {sep!r}")
        self.body_iterator = content
        self.status_code = status_code
        self.media_type = media_type
        self.background = background
        self.sep = sep or DEFAULT_SEPARATOR
        self.ping_interval = DEFAULT_PING_INTERVAL if ping is None else ping
        self.ping_message_factory = ping_message_factory
        self.data_sender_callable = data_sender_callable
        self.send_timeout = send_timeout
        self.client_close_handler_callable = client_close_handler_callable
        self.shutdown_event = shutdown_event
        self.shutdown_grace_period = shutdown_grace_period
        self.cleanup_timeout = cleanup_timeout
        self.farewell = farewell
        self.active = True
        if headers or self.charset != Response.charset:
            self.init_headers(headers)
            self.raw_headers = _event_stream_headers(self.raw_headers)
        else:  # the common case: the same header tuples for every stream
            self.raw_headers = list(_default_event_stream_headers(media_type))
        # Checked here, so that a bad option fails before the response starts.
        self._options = self._stream_options()

    def _stream_options(self) -> StreamOptions:
        values = (
            self.sep,
            self.ping_interval,
            self.ping_message_factory,
            self.send_timeout,
            self.shutdown_grace_period,
            self.cleanup_timeout,
            self.farewell,
        )
        try:
            return _options(*values)
        except TypeError as exc:
            if "unhashable" not in str(exc):
                raise
            return _options.__wrapped__(*values)  # an unhashable factory: not shared

    @staticmethod
    async def _listen_for_exit_signal() -> None:
        """Return once ``AppStatus.should_exit`` is true.

        sse-starlette's hook, kept for code that overrides it (tests simulate a server
        shutdown so): when an override on the class or the instance returns, this
        response drains as on a server shutdown. Without an override no task waits on
        it: the server's shutdown reaches the stream directly.
        """
        if AppStatus.should_exit:
            return
        waiter = anyio.Event()
        AppStatus._exit_waiters.add(waiter)
        try:
            await waiter.wait()
        finally:
            AppStatus._exit_waiters.discard(waiter)

    def _exit_signal_overridden(self) -> bool:
        listen = EventSourceResponse._listen_for_exit_signal
        return "_listen_for_exit_signal" in vars(self) or (
            type(self)._listen_for_exit_signal is not listen
        )

    def _beside_stream(self, shutdown: Shutdown) -> Callable[[], Awaitable[object]] | None:
        """What runs beside the stream: ``data_sender_callable`` and an overridden
        ``_listen_for_exit_signal`` (whose return drains ``shutdown``)."""
        parts: list[Callable[[], Coroutine[Any, Any, object]]] = []
        if self.data_sender_callable is not None:
            parts.append(self.data_sender_callable)
        if self._exit_signal_overridden():

            async def drain_on_exit_signal() -> None:
                await self._listen_for_exit_signal()
                shutdown.trigger()

            parts.append(drain_on_exit_signal)
        if len(parts) < 2:
            return parts[0] if parts else None

        async def run_all() -> None:
            async with anyio.create_task_group() as group:
                for part in parts:
                    group.start_soon(part)

        return run_all

    @property
    def ping_interval(self) -> float:
        return self._ping_interval

    @ping_interval.setter
    def ping_interval(self, value: float) -> None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TypeError("ping interval must be int or float")
        if value < 0:
            raise ValueError("ping interval must be >= 0 (0 disables ping)")
        self._ping_interval = value

    def enable_compression(self) -> None:
        raise NotImplementedError("compression would hold events back; it is not supported")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            send, receive = _websocket_denial(send, receive)
        if str(scope.get("method", "GET")).upper() == "HEAD":
            await self._head(scope, send, self._headers_to_send())
        else:
            options = self._options
            if options.ping != (self.ping_interval or None) or options.send_timeout != (
                self.send_timeout
            ):
                options = self._stream_options()  # changed since: checked again
            shutdown = AppStatus._shutdown_for_stream(private=self._exit_signal_overridden())
            stream = EventStream(
                self.body_iterator,
                options=options,
                shutdown=shutdown,
                shutdown_event=self.shutdown_event,
                on_disconnect=self.client_close_handler_callable,
                background=self._beside_stream(shutdown),
            )
            try:
                await stream_response(
                    scope, receive, send, stream, self._headers_to_send(), status=self.status_code
                )
            finally:
                self.active = False
        if self.background is not None:
            await self.background()

    def _headers_to_send(self) -> list[tuple[bytes, bytes]]:
        # Connection is added back for HTTP/1.1 only (it is forbidden in HTTP/2).
        return [(k, v) for k, v in self.raw_headers if k != b"connection"]

    async def _head(self, scope: Scope, send: Send, headers: list[tuple[bytes, bytes]]) -> None:
        """Headers and an empty body; the content is never iterated. ``send_timeout``
        bounds the whole response, as it bounds each write of a stream."""
        with anyio.move_on_after(self.send_timeout) as timer:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": sse_headers(scope, headers),
                }
            )
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        if timer.cancelled_caught:
            raise SendTimeoutError(f"a send did not complete within {self.send_timeout} s")


@functools.lru_cache(maxsize=16)
def initial_headers(
    media_type: str | None, defaults: tuple[tuple[str, str], ...] = ()
) -> tuple[tuple[bytes, bytes], ...]:
    """What Starlette's ``init_headers`` makes of ``defaults`` for a response without a
    body, made once, so that every stream shares the same header tuples."""
    response = Response(media_type=media_type, headers=dict(defaults))
    return tuple((k, v) for k, v in response.raw_headers if k != b"content-length")


@functools.lru_cache(maxsize=16)
def _default_event_stream_headers(media_type: str | None) -> tuple[tuple[bytes, bytes], ...]:
    return tuple(_event_stream_headers(list(initial_headers(media_type))))


def _event_stream_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The response's headers as sse-starlette sets them, visible before sending."""
    forced = {b"x-accel-buffering": b"no", b"connection": b"keep-alive"}
    headers = [(k, v) for k, v in raw if k not in forced]
    if all(k != b"cache-control" for k, _ in headers):
        headers.append((b"cache-control", b"no-store"))
    headers.extend(forced.items())
    return headers


def _websocket_denial(send: Send, receive: Receive) -> tuple[Send, Receive]:
    """``send`` and ``receive`` of a websocket scope, for the response used as a
    WebSocket denial response (as Starlette's responses can be)."""

    async def denial_send(message: Message) -> None:
        if message["type"].startswith("http.response."):
            message = {**message, "type": "websocket." + message["type"]}
        await send(message)

    async def denial_receive() -> Message:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return {**message, "type": "http.disconnect"}
        return message

    return denial_send, denial_receive
