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
every difference.
"""

from __future__ import annotations

import contextlib
import functools
import json
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
from typing import Any

import sse_fast
from sse_fast._extras import install_hint
from sse_fast.adapters.asgi import draining, last_event_id_of, sse_headers, stream_response
from sse_fast.stream import EventStream, SendTimeoutError, Shutdown, StreamOptions, current_shutdown

with install_hint("starlette", "sse_fast.adapters.starlette"):
    from starlette.background import BackgroundTask
    from starlette.requests import HTTPConnection
    from starlette.responses import Response
    from starlette.types import Receive, Scope, Send

__all__ = [
    "DEFAULT_PING_INTERVAL",
    "DEFAULT_SEPARATOR",
    "EventSourceResponse",
    "JSONServerSentEvent",
    "SendTimeoutError",
    "ServerSentEvent",
    "last_event_id",
    "lifespan",
]

DEFAULT_PING_INTERVAL = 15
DEFAULT_SEPARATOR = "\r\n"


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


def _as_text(value: Any) -> Any:
    """sse-starlette formats numbers with str(); other non-text values are refused."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


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
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        super().__init__(text, **kwargs)


Content = AsyncIterable[Any] | Iterable[Any]


@functools.lru_cache(maxsize=64)
def _options(
    sep: str,
    ping: float,
    factory: Callable[[], sse_fast.ServerSentEvent] | None,
    send_timeout: float | None,
    grace: float,
) -> StreamOptions:
    """Options shared by the responses built alike (most of an app's), checked once."""
    return StreamOptions(
        sep=sep,
        ping=ping,
        ping_message_factory=factory,
        send_timeout=send_timeout,
        shutdown_grace_period=grace,
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
    monkey-patching of the server and no process-wide flag is involved.
    """

    DEFAULT_PING_INTERVAL = DEFAULT_PING_INTERVAL
    DEFAULT_SEPARATOR = DEFAULT_SEPARATOR

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
        self.active = True
        self.init_headers(headers)
        # Checked here, so that a bad option fails before the response starts.
        self._options = self._stream_options()

    def _stream_options(self) -> StreamOptions:
        values = (
            self.sep,
            self.ping_interval,
            self.ping_message_factory,
            self.send_timeout,
            self.shutdown_grace_period,
        )
        try:
            return _options(*values)
        except TypeError as exc:
            if "unhashable" not in str(exc):
                raise
            return _options.__wrapped__(*values)  # an unhashable factory: not shared

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
        # Starlette put content-type (with charset) and any user headers in raw_headers;
        # the event-stream headers replace their defaults, user values win otherwise.
        user = [(k, v) for k, v in self.raw_headers if k != b"content-type"]
        media = [(k, v) for k, v in self.raw_headers if k == b"content-type"]
        headers = [*media, *user]
        if str(scope["method"]).upper() == "HEAD":
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": sse_headers(scope, headers),
                }
            )
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            options = self._options
            if options.ping != (self.ping_interval or None) or options.send_timeout != (
                self.send_timeout
            ):
                options = self._stream_options()  # changed since: checked again
            stream = EventStream(
                self.body_iterator,
                options=options,
                shutdown=current_shutdown(),
                shutdown_event=self.shutdown_event,
                on_disconnect=self.client_close_handler_callable,
                background=self.data_sender_callable,
            )
            try:
                await stream_response(
                    scope, receive, send, stream, headers, status=self.status_code
                )
            finally:
                self.active = False
        if self.background is not None:
            await self.background()
