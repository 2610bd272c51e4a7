"""Test an app that streams events, in the test's own process, without hanging.

``httpx.ASGITransport`` and Starlette's ``TestClient`` collect the whole body before
returning it, so an endless stream never returns. ``stream()`` calls an ASGI app
directly (or serves an aiohttp ``web.Application`` on 127.0.0.1 and reads it with
aiohttp), hands each chunk to the decoder as it is sent, and leaves when the test
has what it needs: N events, or a deadline. Leaving sends ``http.disconnect`` to
the app and waits for it to finish (cancelling it after ``close_timeout``).

    async with sse_fast.testing.stream(app, "/events") as response:
        assert response.status == 200
        first = await response.events(3, timeout=5)

Runs under asyncio or trio (anyio), like the apps it tests.
"""

from __future__ import annotations

import builtins
import importlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from ._decoder import Decoder
from .client._event import Event
from .client._options import received

__all__ = ["StreamedResponse", "stream"]

# Built in from Python 3.11; anyio depends on the backport before.
_EXCEPTION_GROUP: Any = getattr(builtins, "BaseExceptionGroup", None) or (
    importlib.import_module("exceptiongroup").BaseExceptionGroup
)


class StreamedResponse:
    """The response of an app under test, read as it streams.

    ``status`` and ``headers`` (names lowercased) are set once the response starts;
    ``body`` holds every byte received so far; ``ended`` tells whether the app ended
    the body. ``decoder`` keeps the stream's ``last_event_id`` and ``retry``.
    """

    def __init__(
        self, status: int, headers: Mapping[str, str], next_chunk: Callable[[], Awaitable[bytes]]
    ) -> None:
        self.status = status
        self.headers = dict(headers)
        self.body = b""
        self.ended = False
        self.decoder = Decoder(max_event_size=None)
        self._receive = next_chunk
        self._pending: list[Event] = []

    async def _next_chunk(self) -> bool:
        chunk = await self._receive()
        if not chunk:
            self.ended = True
            return False
        self.body += chunk
        self._pending += received(self.decoder.feed(chunk))
        return True

    async def events(self, count: int | None = None, *, timeout: float = 5.0) -> list[Event]:
        """The next ``count`` events (None: all until the body ends), or fewer: those
        that arrived before ``timeout`` seconds passed or the body ended."""
        if count is not None and count < 0:
            raise ValueError(f"count must be >= 0 or None, got {count!r}")
        with anyio.move_on_after(timeout):
            while (count is None or len(self._pending) < count) and not self.ended:
                await self._next_chunk()
        taken = self._pending if count is None else self._pending[:count]
        self._pending = self._pending[len(taken) :]
        return taken

    async def read_until(self, marker: bytes, *, timeout: float = 5.0) -> bytes:
        """The body so far once it contains ``marker``; ``TimeoutError`` (naming the
        marker and showing the end of the body) if it does not in time."""
        with anyio.move_on_after(timeout):
            while marker not in self.body and await self._next_chunk():
                pass
        if marker not in self.body:
            raise TimeoutError(f"{marker!r} not received in {timeout} s: {self.body[-300:]!r}")
        return self.body

    async def __aiter__(self) -> AsyncIterator[Event]:
        """Every event until the body ends (bound it with ``anyio.fail_after``)."""
        while True:
            while self._pending:
                yield self._pending.pop(0)
            if self.ended or not await self._next_chunk():
                return


def _is_aiohttp_app(app: object) -> bool:
    web = sys.modules.get("aiohttp.web")
    return web is not None and isinstance(app, web.Application)


@asynccontextmanager
async def stream(
    app: Any,
    path: str = "/",
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    body: bytes = b"",
    start_timeout: float = 5.0,
    close_timeout: float = 5.0,
) -> AsyncIterator[StreamedResponse]:
    """Request ``path`` from ``app`` (an ASGI app or an aiohttp ``web.Application``)
    and yield the response once it starts (within ``start_timeout`` seconds, else
    ``TimeoutError``). Leaving the block disconnects; an exception the app raised is
    raised there."""
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/', got {path!r}")
    request = _Request(path, method.upper(), dict(headers or {}), dict(params or {}), body)
    if _is_aiohttp_app(app):
        async with _aiohttp_stream(app, request) as response:
            yield response
        return
    if not callable(app):
        raise TypeError(f"app must be an ASGI app or an aiohttp web.Application, got {app!r}")
    async with _asgi_stream(app, request, start_timeout, close_timeout) as response:
        yield response


@dataclass
class _Request:
    path: str
    method: str
    headers: dict[str, str]
    params: dict[str, str]
    body: bytes


def _scope(request: _Request) -> dict[str, Any]:
    raw_headers = [(b"host", b"testserver")]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    if request.body:
        raw_headers.append((b"content-length", str(len(request.body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": urlencode(request.params).encode(),
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "extensions": {},
        "state": {},
    }


@asynccontextmanager
async def _asgi_stream(
    app: Any, request: _Request, start_timeout: float, close_timeout: float
) -> AsyncIterator[StreamedResponse]:
    scope = _scope(request)
    body = request.body
    # A small buffer: an app that outruns the test waits, as it would on a socket.
    send_chunk, receive_chunk = anyio.create_memory_object_stream[bytes](16)
    started = anyio.Event()
    disconnected = anyio.Event()
    app_done = anyio.Event()
    head: dict[str, Any] = {}
    request_sent = False
    failure: list[BaseException] = []

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if disconnected.is_set():
            raise ConnectionResetError("the test client has disconnected")  # ASGI 2.4
        if message["type"] == "http.response.start":
            head["status"] = message["status"]
            head["headers"] = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message["headers"]
            }
            started.set()
        elif message["type"] == "http.response.body":
            if message.get("body"):
                try:
                    await send_chunk.send(bytes(message["body"]))
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    raise ConnectionResetError("the test client has disconnected") from None
            if not message.get("more_body", False):
                await send_chunk.aclose()

    async def run_app() -> None:
        try:
            await app(scope, receive, send)
        except OSError:
            if not disconnected.is_set():
                raise
        except Exception as exc:
            failure.append(exc)
        finally:
            app_done.set()
            started.set()
            await send_chunk.aclose()

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run_app)
            with anyio.move_on_after(start_timeout):
                await started.wait()
            try:
                if failure:
                    raise failure[0]
                if "status" not in head:
                    raise TimeoutError(f"the app did not start a response in {start_timeout} s")
                yield StreamedResponse(head["status"], head["headers"], _reader(receive_chunk))
            finally:
                disconnected.set()
                receive_chunk.close()  # an app blocked sending is released (its send raises)
                with anyio.move_on_after(close_timeout):
                    await app_done.wait()
                tasks.cancel_scope.cancel()  # an app that ignores the disconnect is cancelled
    except _EXCEPTION_GROUP as group:
        # The block's own exception (a failed assert, say) is raised as it is.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    if failure:
        raise failure[0]


def _reader(receive_chunk: MemoryObjectReceiveStream[bytes]) -> Callable[[], Awaitable[bytes]]:
    """The next chunk the app sent; b"" once its body has ended."""

    async def next_chunk() -> bytes:
        try:
            return await receive_chunk.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return b""

    return next_chunk


@asynccontextmanager
async def _aiohttp_stream(app: Any, request: _Request) -> AsyncIterator[StreamedResponse]:
    import aiohttp
    from aiohttp.test_utils import TestServer

    async with AsyncExitStack() as stack:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        stack.push_async_callback(server.close)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        response = await stack.enter_async_context(
            session.request(
                request.method,
                server.make_url(request.path),
                headers=request.headers,
                params=request.params,
                data=request.body or None,
            )
        )
        headers_seen = {k.lower(): v for k, v in response.headers.items()}
        yield StreamedResponse(response.status, headers_seen, response.content.readany)
