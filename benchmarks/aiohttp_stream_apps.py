"""The aiohttp server that benchmarks/streaming_aiohttp.py measures, one route per contender.

    python aiohttp_stream_apps.py --port 8080

``/<contender>/<shape>?n=N`` streams N W1 token events; ``/<contender>/idle`` sends one
event and then stays open (for the memory per idle connection). For
aiohttp_departures.py, ``/ticks/<library>`` sends an event every 10 ms while the client is
connected, and ``/flood/<library>`` 64 KiB events with a 1 s send timeout (``ours`` or
``theirs``, aiohttp-sse).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp_sse
from aiohttp import web

from sse_fast.adapters.aiohttp import setup, sse_response, stream

TOKEN = '{"token":"hello"}'
FRAME = f"data: {TOKEN}\n\n".encode()


async def tokens(shape: str, n: int) -> AsyncIterator[str]:
    """``fast``: no await between events; ``burst``: 64 at once, then a wait;
    ``turn``: a yield to the event loop after every event, so nothing can be sent together."""
    every = {"fast": n + 1, "burst": 64, "turn": 1}[shape]
    for i in range(1, n + 1):
        yield TOKEN
        if i % every == 0:
            await asyncio.sleep(0)


async def idle() -> AsyncIterator[str]:
    yield TOKEN
    await asyncio.Event().wait()


def source(request: web.Request) -> AsyncIterator[str]:
    shape = request.match_info["shape"]
    return idle() if shape == "idle" else tokens(shape, int(request.query.get("n", "1000")))


async def sse_fast_send(request: web.Request) -> web.StreamResponse:
    async with sse_response(request, sep="\n") as resp:
        async for token in source(request):
            await resp.send(token)
    return resp


async def sse_fast_stream(request: web.Request) -> web.StreamResponse:
    return await stream(request, source(request), sep="\n")


async def peer(request: web.Request) -> web.StreamResponse:
    async with aiohttp_sse.sse_response(request, sep="\n") as resp:
        async for token in source(request):
            await resp.send(token)
    return resp


async def bare(request: web.Request) -> web.StreamResponse:
    """The ceiling: pre-framed bytes, one write per event, nothing else."""
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    async for _ in source(request):
        await resp.write(FRAME)
    return resp


def library(request: web.Request) -> Any:
    return sse_response if request.match_info["library"] == "ours" else aiohttp_sse.sse_response


async def ticks(request: web.Request) -> web.StreamResponse:
    async with library(request)(request, sep="\n") as resp:
        while resp.is_connected():
            await resp.send(TOKEN)
            await asyncio.sleep(0.01)
    return resp  # type: ignore[no-any-return]


async def flood(request: web.Request) -> web.StreamResponse:
    chunk = "x" * 65536
    async with library(request)(request, sep="\n", send_timeout=1) as resp:
        while resp.is_connected():
            await resp.send(chunk)
    return resp  # type: ignore[no-any-return]


ROUTES: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
    "sse_fast-send": sse_fast_send,
    "sse_fast-stream": sse_fast_stream,
    "aiohttp-sse": peer,
    "bare": bare,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    setup(app)
    for name, handler in ROUTES.items():
        app.router.add_get(f"/{name}/{{shape}}", handler)
    app.router.add_get("/ticks/{library}", ticks)
    app.router.add_get("/flood/{library}", flood)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None, backlog=4096)


if __name__ == "__main__":
    main()
