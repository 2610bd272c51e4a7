"""A raw ASGI app that serves server-sent events, for any ASGI server (asyncio or trio).

    from sse_fast.adapters.asgi import EventSourceApp

    async def clock(request):
        n = int(request.last_event_id or 0)
        while True:
            n += 1
            yield sse_fast.ServerSentEvent(str(n), id=str(n))
            await anyio.sleep(1)

    app = EventSourceApp(clock)   # uvicorn module:app

The handler returns the events as a (sync or async) iterable, or ``None`` to answer
``204 No Content``, which tells a browser to stop reconnecting.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import anyio

from sse_fast._framing import ServerSentEvent
from sse_fast.adapters._transport import reset
from sse_fast.stream import (
    EventStream,
    Outcome,
    SendTimeoutError,
    Shutdown,
    StreamOptions,
    current_shutdown,
    drain_on_signals,
)

__all__ = ["EventSourceApp", "Request", "SendTimeoutError", "last_event_id_of", "sse_headers"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
ASGISend = Callable[[Message], Awaitable[None]]

MEDIA_TYPE = b"text/event-stream; charset=utf-8"
_MAX_BODY = 1024 * 1024


def sse_headers(
    scope: Scope, extra: Iterable[tuple[bytes, bytes]] = ()
) -> list[tuple[bytes, bytes]]:
    """The response headers of an event stream, ``extra`` replacing defaults of that name.

    Every header of ``extra`` is kept, several of one name too (``Set-Cookie``).
    ``Connection: keep-alive`` goes only on HTTP/1.1: it is forbidden in HTTP/2.
    """
    values: dict[bytes, list[bytes]] = {
        b"content-type": [MEDIA_TYPE],
        b"cache-control": [b"no-store"],
        b"x-accel-buffering": [b"no"],
    }
    if scope.get("http_version") == "1.1":
        values[b"connection"] = [b"keep-alive"]
    replaced: set[bytes] = set()
    for name, value in extra:
        name = name.lower()
        if name in values and name not in replaced:
            values[name] = [value]  # the default's place, the caller's value
        else:
            values.setdefault(name, []).append(value)
        replaced.add(name)
    return [(name, value) for name, named in values.items() for value in named]


def last_event_id_of(scope: Scope) -> str:
    """``Last-Event-ID`` from the raw header bytes, as UTF-8 ("" if none).

    Browsers send the id's UTF-8 bytes; frameworks that decode headers as Latin-1
    (Starlette) would turn a non-ASCII id into mojibake.
    """
    for name, value in scope["headers"]:
        if name.lower() == b"last-event-id":
            return bytes(value).decode("utf-8", "replace")
    return ""


class Request:
    """What a handler knows of the request: scope, method, path, headers, query, body."""

    def __init__(self, scope: Scope, body: bytes = b"") -> None:
        self.scope = scope
        self.body = body

    @property
    def method(self) -> str:
        return str(self.scope["method"])

    @property
    def path(self) -> str:
        return str(self.scope["path"])

    @property
    def headers(self) -> dict[str, str]:
        """Header names in lower case, values decoded as Latin-1 (as HTTP defines)."""
        return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.scope["headers"]}

    @property
    def query(self) -> dict[str, str]:
        """The query string's parameters (the last value of a repeated name)."""
        return dict(parse_qsl(self.scope.get("query_string", b"").decode("latin-1")))

    @property
    def last_event_id(self) -> str:
        """The ``Last-Event-ID`` header, decoded as UTF-8 as browsers send it ("" if none)."""
        return last_event_id_of(self.scope)

    def json(self) -> Any:
        """The request body parsed as JSON."""
        return json.loads(self.body)


Handler = Callable[[Request], Any]


class EventSourceApp:
    """An ASGI app whose ``handler(request)`` returns the events to stream.

    Responses carry ``text/event-stream; charset=utf-8``, ``Cache-Control: no-store``
    and ``X-Accel-Buffering: no`` (and ``Connection: keep-alive`` on HTTP/1.1), plus
    ``headers``. ``HEAD`` gets the headers only; methods other than ``methods`` get 405.
    A request body (POST streaming) is read before the handler runs, up to
    ``max_body_size`` bytes (413 beyond), and given as ``request.body``. The handler
    returns an iterable, an async iterable or an :class:`~sse_fast.EventQueue` of events
    (anything else is a ``TypeError`` before the response starts), or ``None`` for 204.

    The other options are those of :class:`sse_fast.stream.StreamOptions` (``ping``,
    ``ping_idle_only``, ``ping_message``, ``send_timeout``, ``sep``,
    ``shutdown_grace_period``, ``farewell``, ``thread_limiter``), checked here. Used as
    the top-level app it answers the lifespan protocol: the lifespan shutdown triggers
    ``shutdown`` (default: the event loop's :func:`~sse_fast.stream.current_shutdown`).
    With ``drain_on_signals=True``, SIGINT and SIGTERM trigger it too, from lifespan
    startup to shutdown: uvicorn runs the lifespan shutdown only after every connection
    has closed, so this is what ends endless streams there when the server is stopped.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        ping: float | None = 15.0,
        ping_idle_only: bool = False,
        ping_message: ServerSentEvent | bytes | str | None = None,
        send_timeout: float | None = None,
        sep: str = "\n",
        headers: Mapping[str, str] | None = None,
        methods: Iterable[str] = ("GET",),
        max_body_size: int = _MAX_BODY,
        shutdown: Shutdown | None = None,
        shutdown_grace_period: float = 0.0,
        farewell: ServerSentEvent | bytes | None = None,
        thread_limiter: Any = None,
        drain_on_signals: bool = False,
    ) -> None:
        self.handler = handler
        self.options = StreamOptions(
            ping=ping,
            ping_idle_only=ping_idle_only,
            ping_message=ping_message,
            send_timeout=send_timeout,
            sep=sep,
            shutdown_grace_period=shutdown_grace_period,
            farewell=farewell,
            thread_limiter=thread_limiter,
        )
        self._headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
        ]
        self._methods = {m.upper() for m in methods} | {"HEAD"}
        self._max_body = max_body_size
        self.shutdown = shutdown
        self.drain_on_signals = drain_on_signals

    async def __call__(self, scope: Scope, receive: Receive, send: ASGISend) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await serve_lifespan(receive, send, self.shutdown, signals=self.drain_on_signals)
        else:  # a websocket: refused before it is accepted
            await send({"type": "websocket.close", "code": 1008})

    def _shutdown(self) -> Shutdown:
        return self.shutdown if self.shutdown is not None else current_shutdown()

    async def _http(self, scope: Scope, receive: Receive, send: ASGISend) -> None:
        method = str(scope["method"]).upper()
        if method not in self._methods:
            allow = ", ".join(sorted(self._methods)).encode()
            await _plain(send, 405, [(b"allow", allow)])
            return
        if method == "HEAD":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": sse_headers(scope, self._headers),
                }
            )
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        body: bytes | None = b""
        if method != "GET":
            body = await _read_body(receive, self._max_body)
            if body is _GONE:
                return  # the client left mid-upload: a truncated body never reaches the handler
            if body is None:  # and the server must not read the rest of it
                await _plain(send, 413, [(b"connection", b"close")])
                return
        events = self.handler(Request(scope, body or b""))
        if inspect.isawaitable(events):
            events = await events
        if events is None:
            await _plain(send, 204)
            return
        stream = EventStream(events, options=self.options, shutdown=self._shutdown())
        await stream_response(scope, receive, send, stream, self._headers)


async def serve_lifespan(
    receive: Receive, send: ASGISend, shutdown: Shutdown | None, *, signals: bool
) -> None:
    """Answer the ASGI lifespan protocol: its shutdown triggers ``shutdown`` (default:
    the loop's ``current_shutdown()``); with ``signals``, so do SIGINT and SIGTERM."""
    async with draining(shutdown, signals=signals):
        while (await receive())["type"] != "lifespan.startup":
            pass
        await send({"type": "lifespan.startup.complete"})
        while (await receive())["type"] != "lifespan.shutdown":
            pass
    await send({"type": "lifespan.shutdown.complete"})


@contextlib.asynccontextmanager
async def draining(
    shutdown: Shutdown | None = None, *, signals: bool = False
) -> AsyncIterator[Shutdown]:
    """Trigger ``shutdown`` (default: the loop's ``current_shutdown()``) when the block
    ends; with ``signals``, SIGINT and SIGTERM trigger it during the block too."""
    shutdown = shutdown if shutdown is not None else current_shutdown()
    with drain_on_signals(shutdown) if signals else contextlib.nullcontext(shutdown):
        try:
            yield shutdown
        finally:
            shutdown.trigger()


async def stream_response(
    scope: Scope,
    receive: Receive,
    send: ASGISend,
    stream: EventStream,
    headers: Iterable[tuple[bytes, bytes]],
    *,
    status: int = 200,
) -> Outcome:
    """Send the response start, run ``stream``, end the body (with its last events)."""
    await send(
        {"type": "http.response.start", "status": status, "headers": sse_headers(scope, headers)}
    )
    del headers  # not held for the life of the stream
    body = _Body(send)
    try:
        outcome = await stream.run(body.send, end=body.end, receive=receive)
    except SendTimeoutError as exc:
        await _release_frozen_client(send, exc, stream.options.logger)
        return Outcome.DISCONNECTED
    except anyio.get_cancelled_exc_class():
        if stream.can_end_body:
            with anyio.CancelScope(shield=True), anyio.move_on_after(1):
                await _end_body(body)  # cancelled by the server: still end the body cleanly
        raise
    if outcome is not Outcome.DISCONNECTED and stream.can_end_body:
        with anyio.move_on_after(1):  # a client that stopped reading must not hold shutdown
            await _end_body(body)
    return outcome


class _Body:
    """The stream's ends of one ASGI response body. Plain methods that return the
    server's own awaitable: no coroutine of ours per event."""

    __slots__ = ("_send",)

    def __init__(self, send: ASGISend) -> None:
        self._send = send

    def send(self, data: bytes) -> Awaitable[None]:
        return self._send({"type": "http.response.body", "body": data, "more_body": True})

    def end(self, data: bytes) -> Awaitable[None]:
        return self._send({"type": "http.response.body", "body": data, "more_body": False})


async def _release_frozen_client(
    send: ASGISend, exc: SendTimeoutError, logger: logging.Logger
) -> None:
    """A client stopped reading: abort its connection, so that the server frees its
    buffers, where the server lets us reach the transport (uvicorn); one log line."""
    transport = _transport_of(send)
    if transport is not None:
        reset(transport)
        await anyio.sleep(0)  # the server sees the connection lost before the app returns
    logger.warning(
        "%s; connection %s", exc, "aborted" if transport is not None else "left to the server"
    )


def _transport_of(send: Any, depth: int = 0) -> Any:
    """The asyncio transport behind an ASGI ``send``: uvicorn's is a method of an object
    with a ``transport``; middleware (Starlette's) wraps it in closures."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None and callable(getattr(transport, "abort", None)):
        return transport
    if depth < 6:
        for cell in getattr(send, "__closure__", None) or ():
            with contextlib.suppress(ValueError):  # an empty cell
                value = cell.cell_contents
                if callable(value) and value is not send:
                    found = _transport_of(value, depth + 1)
                    if found is not None:
                        return found
    return None


async def _end_body(body: _Body) -> None:
    with contextlib.suppress(OSError):  # the client left just now: nothing to end
        await body.end(b"")


_GONE = b"<client gone>"  # compared by identity, never sent


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body; None beyond ``limit``; ``_GONE`` if the client left."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return _GONE
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _plain(
    send: ASGISend, status: int, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers or []})
    await send({"type": "http.response.body", "body": b""})
