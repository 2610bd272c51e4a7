"""ASGI apps that the server tests run under real servers (uvicorn, hypercorn).

``/stats`` reports how many generators started and how many ran their ``finally``, so
that a test in another process can see the server clean up after a client.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio

import sse_fast
from sse_fast.adapters.asgi import EventSourceApp, Request

STATS = {"started": 0, "finished": 0}
GRACE = float(os.environ.get("SSE_TEST_GRACE", "0"))


def numbered(n: int) -> sse_fast.ServerSentEvent:
    return sse_fast.ServerSentEvent(f"event {n}\nsecond line", event="tick", id=str(n))


async def counting(request: Request) -> AsyncIterator[Any]:
    """``?count=N`` events (endless without), ``?interval=S`` apart, resuming after
    ``Last-Event-ID``; with ``?linger=1`` it then stays open without events."""
    count = int(request.query.get("count", "0"))
    interval = float(request.query.get("interval", "0"))
    n = int(request.last_event_id) if request.last_event_id.isdigit() else 0
    stop = n + count if count else None
    STATS["started"] += 1
    try:
        while stop is None or n < stop:
            n += 1
            yield numbered(n)
            if interval:
                await anyio.sleep(interval)
        if request.query.get("linger"):
            await anyio.sleep_forever()
    finally:
        STATS["finished"] += 1


async def idle(request: Request) -> AsyncIterator[Any]:
    """Nothing but what the engine adds (pings, farewell) until the client leaves."""
    STATS["started"] += 1
    try:
        yield sse_fast.ServerSentEvent("ready", event="ready")
        await anyio.sleep_forever()
    finally:
        STATS["finished"] += 1


async def flood(request: Request) -> AsyncIterator[Any]:
    """64 KiB events as fast as the client takes them."""
    chunk = "x" * 65536
    STATS["started"] += 1
    try:
        while True:
            yield chunk
    finally:
        STATS["finished"] += 1


def echo_last_event_id(request: Request) -> Iterator[Any]:
    return iter([sse_fast.ServerSentEvent(request.last_event_id, id=request.last_event_id)])


def echo_body(request: Request) -> list[Any]:
    STATS["posts"] = STATS.get("posts", 0) + 1
    return [sse_fast.json_event(request.json(), event="echo")]


def no_content(request: Request) -> None:
    return None


def returns_text(request: Request) -> Any:
    return "a str is not a stream of events"


async def blocking_between_yields(request: Request) -> AsyncIterator[Any]:
    """``?count`` events; before making the next one it blocks the event loop (as sync
    work does) until the client has written the previous id to the file ``?seen``, or 3 s
    have passed, and says in the next event whether the previous one had arrived."""
    seen = Path(request.query["seen"])
    arrived = "none yet"
    for n in range(1, int(request.query.get("count", "3")) + 1):
        yield sse_fast.ServerSentEvent(f"previous arrived: {arrived}", id=str(n))
        deadline = time.monotonic() + 3
        while str(n) not in seen.read_text().split() and time.monotonic() < deadline:
            time.sleep(0.005)
        arrived = "yes" if str(n) in seen.read_text().split() else "no"


def tasks() -> int:
    """How many tasks the server runs now (asyncio or trio)."""
    import asyncio

    try:
        return len(asyncio.all_tasks())
    except RuntimeError:
        import trio

        return int(trio.lowlevel.current_statistics().tasks_living)


def stalling_the_end(inner: Any) -> Any:
    """``inner`` behind a server whose end of the body never completes (as with a client
    that stopped reading just then); ``/stats`` counts the responses that ended anyway."""

    async def stalled(scope: Any, receive: Any, send: Any) -> None:
        async def held_send(message: Any) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                await anyio.sleep_forever()
            await send(message)

        try:
            await inner(scope, receive, held_send)
        finally:
            STATS["stalled_ended"] = STATS.get("stalled_ended", 0) + 1

    return stalled


FAREWELL = sse_fast.ServerSentEvent("server going away", event="bye")

ROUTES: dict[str, Any] = {
    "/events": EventSourceApp(counting, drain_on_signals=True),  # also serves the lifespan
    "/ping": EventSourceApp(idle, ping=0.2),
    "/ping-idle": EventSourceApp(counting, ping=0.3, ping_idle_only=True),
    "/frozen": EventSourceApp(flood, ping=0, send_timeout=0.5),
    "/forever": EventSourceApp(idle, farewell=FAREWELL, shutdown_grace_period=GRACE),
    "/echo-id": EventSourceApp(echo_last_event_id),
    "/post": EventSourceApp(echo_body, methods=("POST",)),
    "/no-content": EventSourceApp(no_content),
    "/returns-text": EventSourceApp(returns_text),
    "/blocking": EventSourceApp(blocking_between_yields, ping=0),
    "/stalled-end": stalling_the_end(EventSourceApp(counting, ping=0)),
}


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await ROUTES["/events"](scope, receive, send)
    elif scope["path"] == "/stats":
        stats = {**STATS, "pid": os.getpid(), "compiled": sse_fast.COMPILED, "tasks": tasks()}
        body = json.dumps(stats).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
    else:
        await ROUTES[scope["path"]](scope, receive, send)


# ---------------------------------------------------------------- Starlette and FastAPI

from fastapi import FastAPI  # noqa: E402
from sse_starlette import EventSourceResponse as PeerResponse  # noqa: E402
from sse_starlette import ServerSentEvent as PeerEvent  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.background import BackgroundTask  # noqa: E402
from starlette.requests import Request as StarletteRequest  # noqa: E402
from starlette.routing import Route  # noqa: E402

from sse_fast.adapters import starlette as adapter  # noqa: E402


def mixed_content(event_type: Any) -> list[Any]:
    """The same content for both libraries: events, dicts, str, every field."""
    return [
        event_type("plain"),
        event_type("multi\nline\r\ndata", event="update", id="7", retry=1500),
        event_type(comment="a comment"),
        {"data": "from a dict", "event": "d", "id": "8"},
        "a bare string",
        event_type(data=42),
    ]


async def ours(request: StarletteRequest) -> adapter.EventSourceResponse:
    return adapter.EventSourceResponse(mixed_content(adapter.ServerSentEvent), ping=0)


async def theirs(request: StarletteRequest) -> PeerResponse:
    return PeerResponse(iter(mixed_content(PeerEvent)), ping=0)


async def endless(request: StarletteRequest) -> adapter.EventSourceResponse:
    async def events() -> AsyncIterator[Any]:
        STATS["started"] += 1
        try:
            n = 0
            while True:
                n += 1
                yield adapter.ServerSentEvent(str(n), id=str(n))
                await anyio.sleep(0.05)
        finally:
            STATS["finished"] += 1

    async def closed(message: Any) -> None:
        STATS["close_handler"] = STATS.get("close_handler", 0) + 1

    return adapter.EventSourceResponse(
        events(), ping=0.2, client_close_handler_callable=closed, headers={"X-Custom": "yes"}
    )


async def bad_id(request: StarletteRequest) -> adapter.EventSourceResponse:
    return adapter.EventSourceResponse([{"data": "x", "id": "1\n2"}])


async def frozen(request: StarletteRequest) -> adapter.EventSourceResponse:
    return adapter.EventSourceResponse(flood(Request(request.scope)), ping=0, send_timeout=0.5)


class StalledEndWithBackground:
    """An ASGI endpoint: one event, then an end of the body that never completes; the
    response's ``background`` counts in ``/stats`` once it ran."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def count() -> None:
            STATS["background"] = STATS.get("background", 0) + 1

        async def one_event() -> AsyncIterator[Any]:
            yield adapter.ServerSentEvent("only")  # written at once: the end comes after

        response = adapter.EventSourceResponse(
            one_event(), ping=0, background=BackgroundTask(count)
        )
        await stalling_the_end(response)(scope, receive, send)


async def stats(request: StarletteRequest) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse({**STATS, "pid": os.getpid(), "compiled": sse_fast.COMPILED})


starlette_app = Starlette(
    routes=[
        Route("/ours", ours),
        Route("/theirs", theirs),
        Route("/endless", endless),
        Route("/bad-id", bad_id),
        Route("/frozen", frozen),
        Route("/stalled-end", StalledEndWithBackground()),
        Route("/stats", stats),
    ]
)

fastapi_app = FastAPI()


@fastapi_app.get("/tokens")
async def tokens(request: StarletteRequest) -> adapter.EventSourceResponse:
    async def generate() -> AsyncIterator[Any]:
        for token in ["Hel", "lo", " wor", "ld"]:
            yield adapter.JSONServerSentEvent({"token": token}, event="token")
        yield adapter.ServerSentEvent("[DONE]")

    return adapter.EventSourceResponse(generate())


fastapi_app.add_api_route("/stats", stats)
