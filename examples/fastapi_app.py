"""FastAPI (Starlette works the same): a price feed that resumes where the client left off.

    python examples/fastapi_app.py            # PORT=9000 to change the port
    python -m sse_fast listen http://127.0.0.1:8000/prices

``EventSourceResponse`` is a drop-in for sse-starlette's: only the import changes. Each
event carries an id, so a reconnecting browser (or ``sse_fast.client``) sends
``Last-Event-ID`` and the feed goes on from the next one.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import anyio
import uvicorn
from fastapi import FastAPI, Request
from sse_fast.adapters.starlette import EventSourceResponse, JSONServerSentEvent, lifespan

# Ctrl-C or SIGTERM ends the open streams at once (uvicorn would wait for them).
app = FastAPI(lifespan=lifespan(signals=True))


def price(n: int) -> float:
    """A made-up but repeatable price: the same id always has the same price."""
    return round(100 + 5 * ((n * 7919) % 13 - 6) / 6, 2)


@app.get("/prices")
async def prices(request: Request, interval: float = 1.0) -> EventSourceResponse:
    last_event_id = request.headers.get("last-event-id", "")
    n = int(last_event_id) if last_event_id.isdigit() else 0

    async def feed() -> AsyncIterator[JSONServerSentEvent]:
        nonlocal n
        while True:
            n += 1
            yield JSONServerSentEvent({"symbol": "SSE", "price": price(n)}, event="price", id=n)
            await anyio.sleep(interval)

    # A client that stops reading for 10 s is dropped instead of holding a task forever.
    return EventSourceResponse(feed(), send_timeout=10)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
