"""The apps that benchmarks/streaming.py serves with uvicorn, one route per contender.

``/<contender>/<shape>?n=N`` streams N W1 token events; ``/<contender>/idle`` sends one
event and then stays open (for the memory per idle connection).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
from sse_starlette import EventSourceResponse as PeerResponse
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.routing import Route

from sse_fast.adapters.asgi import EventSourceApp, Request
from sse_fast.adapters.starlette import EventSourceResponse

TOKEN = '{"token":"hello"}'
FRAME = f"data: {TOKEN}\n\n".encode()


async def tokens(shape: str, n: int) -> AsyncIterator[str]:
    """``fast``: no await between events; ``burst``: 64 at once, then a wait;
    ``turn``: a checkpoint after every event, so nothing can be sent together."""
    every = {"fast": n + 1, "burst": 64, "turn": 1}[shape]
    for i in range(1, n + 1):
        yield TOKEN
        if i % every == 0:
            await anyio.lowlevel.checkpoint()


async def paced(n: int) -> AsyncIterator[str]:
    """``paced``: one event every 5 ms, its data the (system-wide) monotonic time at
    which it was made, so that the client can tell how long it took to arrive."""
    for _ in range(n):
        yield f"{time.monotonic():.6f}"
        await anyio.sleep(0.005)


async def idle() -> AsyncIterator[str]:
    yield TOKEN
    await anyio.sleep_forever()


def source(shape: str, query: Any) -> AsyncIterator[str]:
    n = int(query.get("n", "1000"))
    if shape == "paced":
        return paced(n)
    return idle() if shape == "idle" else tokens(shape, n)


async def bare(scope: Any, receive: Any, send: Any) -> None:
    """The ceiling: pre-framed bytes, one send per event, nothing else."""
    shape = scope["path"].rsplit("/", 1)[1]
    query = dict(p.split("=") for p in scope["query_string"].decode().split("&") if p)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
    )
    async for item in source(shape, query):
        frame = f"data: {item}\n\n".encode() if shape == "paced" else FRAME
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def asgi_handler(request: Request) -> AsyncIterator[str]:
    return source(request.path.rsplit("/", 1)[1], request.query)


async def ours(request: StarletteRequest) -> EventSourceResponse:
    return EventSourceResponse(source(request.path_params["shape"], request.query_params), sep="\n")


async def theirs(request: StarletteRequest) -> PeerResponse:
    return PeerResponse(source(request.path_params["shape"], request.query_params), sep="\n")


starlette_app = Starlette(
    routes=[
        Route("/sse_fast-starlette/{shape}", ours),
        Route("/sse-starlette/{shape}", theirs),
    ]
)
asgi_app = EventSourceApp(asgi_handler)


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path.startswith("/bare/"):
        await bare(scope, receive, send)
    elif path.startswith("/sse_fast-asgi/"):
        await asgi_app(scope, receive, send)
    else:
        await starlette_app(scope, receive, send)
