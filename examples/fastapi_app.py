"""FastAPI: a price feed that resumes where the client left off.

    python examples/fastapi_app.py            # PORT=9000 to change the port
    python -m sse_fast listen http://127.0.0.1:8000/prices

Written as for FastAPI's native SSE (``fastapi.sse``): a generator path operation with
``response_class=EventSourceResponse`` and a declared item type. Only the import changes,
plus the route class that lets the sse_fast engine do the streaming. Each event carries
an id, so a reconnecting browser (or ``sse_fast.client``) sends ``Last-Event-ID`` and the
feed goes on from the next one; ``LastEventID`` reads it as the UTF-8 the browser sent.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable

import anyio
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

from sse_fast.adapters.fastapi import (
    EventSourceResponse,
    EventSourceRoute,
    LastEventID,
    ServerSentEvent,
    lifespan,
)

# Ctrl-C or SIGTERM ends the open streams at once (uvicorn would wait for them).
app = FastAPI(lifespan=lifespan(signals=True))
app.router.route_class = EventSourceRoute


class Price(BaseModel):
    symbol: str
    price: float


def price(n: int) -> float:
    """A made-up but repeatable price: the same id always has the same price."""
    return round(100 + 5 * ((n * 7919) % 13 - 6) / 6, 2)


# A client that stops reading for 10 s is dropped instead of holding a task forever.
@app.get("/prices", response_class=EventSourceResponse.with_options(send_timeout=10))
async def prices(
    last_event_id: LastEventID, interval: float = 1.0
) -> AsyncIterable[ServerSentEvent]:
    n = int(last_event_id) if last_event_id.isdigit() else 0
    while True:
        n += 1
        quote = Price(symbol="SSE", price=price(n))
        yield ServerSentEvent(data=quote, event="price", id=str(n))
        await anyio.sleep(interval)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
