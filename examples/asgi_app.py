"""The raw ASGI app: no framework, any ASGI server (uvicorn, hypercorn, with asyncio or trio).

    python examples/asgi_app.py               # or: uvicorn asgi_app:app --app-dir examples
    python -m sse_fast listen 'http://127.0.0.1:8000/?count=5'

The handler gets the request and returns its events, or ``None`` to answer
``204 No Content``: here, once a client has had ``count`` events, its reconnection gets
204, which tells a browser to stop reconnecting.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import anyio
import uvicorn

import sse_fast
from sse_fast.adapters.asgi import EventSourceApp, Request


def steps(request: Request) -> AsyncIterator[sse_fast.ServerSentEvent] | None:
    count = int(request.query.get("count", "10"))
    interval = float(request.query.get("interval", "1"))
    last = request.last_event_id  # decoded as UTF-8, as browsers send it
    done = int(last) if last.isdigit() else 0
    if done >= count:
        return None

    async def events() -> AsyncIterator[sse_fast.ServerSentEvent]:
        for n in range(done + 1, count + 1):
            yield sse_fast.ServerSentEvent(f"{count - n} to go", event="step", id=str(n))
            if n < count:
                await anyio.sleep(interval)

    return events()


# Heartbeat comments every 15 s keep proxies from closing an idle stream. With
# drain_on_signals, Ctrl-C (SIGINT) or SIGTERM ends the open streams at once: uvicorn
# itself would wait for them to finish before running the lifespan shutdown.
app = EventSourceApp(steps, ping=15, drain_on_signals=True)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
