"""The live demo that `make demo` serves: one page, one EventSource, everything visible.

    make demo                      # or: PORT=9000 make demo
    python examples/demo/app.py    # the same, once sse_fast and the test extra are installed

``/`` is the page (``index.html``). ``/events`` is the stream, served by the Starlette
adapter: a ``message`` on each connection (what the server received, and the ``retry``
it sets), then numbered events ``№1``, ``№2``... one per ``interval`` seconds: ``tick``
(the server's clock) and every fourth a multi-line ``news``. A reconnecting browser
sends ``Last-Event-ID`` and the stream resumes after it. ``POST /drop`` ends the open
streams of a client (the page's button) so that the browser reconnects.
``/broadcast/...`` is ``examples/broadcast_app.py`` on the memory backend: the page's
two "windows" follow one topic (fan-out), and its answer box streams a generated answer
that a reload resumes from the last token seen.
``/countdown`` is a raw ASGI app (``EventSourceApp``): a countdown that ends, then
answers the browser's reconnection with 204, which stops it for good. ``/journal``
shows what the server saw (the browser tests read it).

Query parameters of ``/`` are passed on to both streams: ``retry`` (milliseconds),
``interval`` (seconds between events) and ``from`` (where the countdown starts).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route

from sse_fast.adapters import asgi
from sse_fast.adapters.starlette import (
    EventSourceResponse,
    JSONServerSentEvent,
    ServerSentEvent,
    last_event_id,
)

sys.path.append(str(Path(__file__).resolve().parents[1]))  # examples/, for broadcast_app
import broadcast_app

PAGE = Path(__file__).with_name("index.html")
NEWS_EVERY = 4
HEADLINE = "Grüße aus Köln · Ελλάδα · Москва · “quotes” … 😀"


COUNTDOWN_PREFIX = "T\N{MINUS SIGN}"  # ids need not be ASCII


def countdown_id(k: int) -> str:
    return f"{COUNTDOWN_PREFIX}{k}"


LIFTOFF = countdown_id(0)

# What the server saw, newest last: read by /journal.
connections: list[dict[str, Any]] = []
countdown_requests: list[dict[str, Any]] = []
# The open streams of each client, woken by POST /drop.
drops: dict[str, set[anyio.Event]] = {}


def event_id(n: int) -> str:
    return f"№{n}"


def number_of(last_event_id: str) -> int:
    """The number in an id made by :func:`event_id`; 0 for anything else."""
    digits = last_event_id.removeprefix("№")
    return int(digits) if digits.isascii() and digits.isdigit() else 0


def numbered(n: int) -> ServerSentEvent:
    if n % NEWS_EVERY == 0:
        text = f"Headline {n}\n{HEADLINE}\nthree lines, one event"
        return ServerSentEvent(text, event="news", id=event_id(n))
    return ServerSentEvent(time.strftime("%H:%M:%S"), event="tick", id=event_id(n))


def number_param(request: Request, name: str, default: float) -> float:
    try:
        return max(0.0, float(request.query_params.get(name, default)))
    except ValueError:
        return default


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE.read_text(encoding="utf-8"))


async def events(request: Request) -> EventSourceResponse:
    client = request.query_params.get("client", "")
    retry = int(number_param(request, "retry", 1000))
    interval = number_param(request, "interval", 1.0)
    resumed_from = last_event_id(request)
    first = number_of(resumed_from) + 1
    record = {
        "client": client,
        "last_event_id": resumed_from,
        "first_id": event_id(first),
        "opened": time.monotonic(),
        "closed": None,
    }
    connections.append(record)
    dropped = anyio.Event()
    drops.setdefault(client, set()).add(dropped)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        try:
            # No id: the browser's lastEventId stays that of the last numbered event.
            welcome = {
                "connection": sum(c["client"] == client for c in connections),
                "last_event_id": resumed_from,
                "next_id": event_id(first),
                "retry": retry,
            }
            yield JSONServerSentEvent(welcome, retry=retry)
            n = first
            while True:
                yield numbered(n)
                n += 1
                with anyio.move_on_after(interval):
                    await dropped.wait()
                if dropped.is_set():
                    return  # between two events: the browser reconnects, nothing is cut
        finally:
            record["closed"] = time.monotonic()
            drops[client].discard(dropped)
            if not drops[client]:
                del drops[client]

    return EventSourceResponse(stream())


async def drop(request: Request) -> JSONResponse:
    client = request.query_params.get("client")
    streams = [
        event for name, events in drops.items() if client in (None, name) for event in events
    ]
    for event in streams:
        event.set()
    return JSONResponse({"dropped": len(streams)})


async def journal(request: Request) -> JSONResponse:
    return JSONResponse({"connections": connections, "countdown": countdown_requests})


def countdown(request: asgi.Request) -> AsyncIterator[ServerSentEvent] | None:
    """``from``, ..., 1, then liftoff; on the reconnection after liftoff: None, so 204."""
    resumed_from = request.last_event_id  # decoded as UTF-8 by the ASGI adapter
    over = resumed_from == LIFTOFF
    countdown_requests.append(
        {"last_event_id": resumed_from, "at": time.monotonic(), "status": 204 if over else 200}
    )
    if over:
        return None
    retry = int(float(request.query.get("retry", "1000")))
    interval = float(request.query.get("interval", "1"))
    start = int(request.query.get("from", "5"))
    if resumed_from.startswith(COUNTDOWN_PREFIX):  # a countdown cut short: resume it
        left = resumed_from.removeprefix(COUNTDOWN_PREFIX)
        start = int(left) - 1 if left.isascii() and left.isdigit() else start

    async def stream() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(comment="countdown", retry=retry)
        for k in range(start, 0, -1):
            yield ServerSentEvent(str(k), event="count", id=countdown_id(k))
            await anyio.sleep(interval)
        yield ServerSentEvent("Liftoff ✓ (reconnecting now gets 204)", event="liftoff", id=LIFTOFF)

    return stream()


app = Starlette(
    routes=[
        Route("/", page),
        Route("/events", events),
        Route("/drop", drop, methods=["POST"]),
        Route("/journal", journal),
        Route("/countdown", asgi.EventSourceApp(countdown)),
        Mount("/broadcast", routes=broadcast_app.routes),
    ],
    lifespan=broadcast_app.lifespan,  # the broker, and Ctrl-C ends open streams at once
)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    print(f"sse_fast demo: open http://127.0.0.1:{port}/ (Ctrl-C stops it)", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
