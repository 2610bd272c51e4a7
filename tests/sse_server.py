"""A scripted event-stream server on 127.0.0.1 (a free port), for client and CLI tests.

Each connection gets the next ``Reply`` of the script (the last one repeats): a
status, a Content-Type, body chunks, and whether to end the body or cut the
connection after them. Request headers and arrival times are recorded.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Reply:
    chunks: list[bytes] = field(default_factory=list)
    status: int = 200
    content_type: str = "text/event-stream"
    drop: bool = False  # cut the connection after the chunks (no end of body)
    pause: float = 0.0  # seconds between chunks
    hold: float = 0.0  # seconds to keep the connection open after the chunks


class SSEServer:
    def __init__(self, script: list[Reply], port: int = 0) -> None:
        self.script = script
        self.port = port
        self.headers: list[dict[str, str]] = []
        self.times: list[float] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/events"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> SSEServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        index = len(self.headers)
        self.headers.append(dict(request.headers))
        self.times.append(time.monotonic())
        reply = self.script[min(index, len(self.script) - 1)]
        if reply.status != 200 or reply.content_type != "text/event-stream":
            body = b"".join(reply.chunks) if reply.status != 204 else None
            return web.Response(
                status=reply.status,
                body=body,
                headers={"Content-Type": reply.content_type} if body is not None else None,
            )
        response = web.StreamResponse(headers={"Content-Type": reply.content_type})
        await response.prepare(request)
        for chunk in reply.chunks:
            await response.write(chunk)
            if reply.pause:
                await asyncio.sleep(reply.pause)
        if reply.hold:
            await asyncio.sleep(reply.hold)
        if reply.drop:
            assert request.transport is not None
            request.transport.close()  # what was written is flushed, then the socket closes
            return response
        await response.write_eof()
        return response


@contextmanager
def server_in_thread(script: list[Reply], port: int = 0) -> Iterator[SSEServer]:
    """The server on its own event loop in a daemon thread (for subprocess tests)."""
    server = SSEServer(script, port)
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10), "the test server did not start"
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
