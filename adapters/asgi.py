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
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import anyio

from sse_fast._framing import ServerSentEvent
from sse_fast.stream import EventStream, Outcome, SendTimeoutError, Shutdown, current_shutdown

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

    ``Connection: keep-alive`` goes only on HTTP/1.1: it is forbidden in HTTP/2.
    """
    headers = {
        b"content-type": MEDIA_TYPE,
        b"cache-control": b"no-store",
        b"x-accel-buffering": b"no",
    }
    if scope.get("http_version") == "1.1":
        headers[b"connection"] = b"keep-alive"
    for name, value in extra:
        headers[name.lower()] = value
    return list(headers.items())


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
    ``max_body_size`` bytes (413 beyond), and given as ``request.body``.

    The other options are those of :class:`sse_fast.stream.EventStream`: ``ping``,
    ``ping_idle_only``, ``ping_message``, ``send_timeout``, ``sep``, ``shutdown``,
    ``shutdown_grace_period``, ``farewell``. Used as the top-level app it also answers
    the lifespan protocol, triggering the shutdown when the server stops.
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
    ) -> None:
        self.handler = handler
        # Checked once here, so a bad option fails at start-up rather than per request.
        EventStream((), ping=ping, ping_message=ping_message, sep=sep, send_timeout=send_timeout)
        self._options: dict[str, Any] = {
            "ping": ping,
            "ping_idle_only": ping_idle_only,
            "ping_message": ping_message,
            "send_timeout": send_timeout,
            "sep": sep,
            "shutdown_grace_period": shutdown_grace_period,
            "farewell": farewell,
        }
        self._headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
        ]
        self._methods = {m.upper() for m in methods} | {"HEAD"}
        self._max_body = max_body_size
        self.shutdown = shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: ASGISend) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:  # a websocket: refused before it is accepted
            await send({"type": "websocket.close", "code": 1008})

    async def _lifespan(self, receive: Receive, send: ASGISend) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._shutdown()  # chains the signal handlers early
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._shutdown().trigger()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _shutdown(self) -> Shutdown:
        return self.shutdown if self.shutdown is not None else current_shutdown()

    async def _http(self, scope: Scope, receive: Receive, send: ASGISend) -> None:
        method = scope["method"]
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
            if body is None:
                await _plain(send, 413)
                return
        events = self.handler(Request(scope, body or b""))
        if inspect.isawaitable(events):
            events = await events
        if events is None:
            await _plain(send, 204)
            return
        await stream_response(
            scope, receive, send, events, self._headers, self._shutdown(), **self._options
        )


async def stream_response(
    scope: Scope,
    receive: Receive,
    send: ASGISend,
    events: Any,
    headers: Iterable[tuple[bytes, bytes]],
    shutdown: Shutdown | None,
    *,
    status: int = 200,
    **options: Any,
) -> Outcome:
    """Send the response start, stream ``events`` through the engine, end the body."""
    await send(
        {"type": "http.response.start", "status": status, "headers": sse_headers(scope, headers)}
    )

    async def send_body(data: bytes) -> None:
        await send({"type": "http.response.body", "body": data, "more_body": True})

    async def wait_disconnect() -> Message:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return message

    stream = EventStream(events, shutdown=shutdown, **options)
    try:
        outcome = await stream.run(send_body, wait_disconnect)
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True), anyio.move_on_after(1):
            await _end_body(send)  # cancelled by the server: still end the body cleanly
        raise
    if outcome is Outcome.SHUTDOWN:
        with anyio.move_on_after(1):  # a client that stopped reading must not hold shutdown
            await _end_body(send)
    elif outcome is not Outcome.DISCONNECTED:
        await _end_body(send)
    return outcome


async def _end_body(send: ASGISend) -> None:
    with contextlib.suppress(OSError):  # the client left just now: nothing to end
        await send({"type": "http.response.body", "body": b"", "more_body": False})


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
