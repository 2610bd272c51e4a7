"""aiohttp: sse_fast's drop-in for aiohttp-sse, both ways of sending.

    python examples/aiohttp_app.py
    python -m sse_fast listen http://127.0.0.1:8000/clock
    curl -N -X POST http://127.0.0.1:8000/tokens -d '{"prompt": "hello there"}'

``/clock`` sends events one by one with ``send()``, as aiohttp-sse handlers do, and
resumes after ``Last-Event-ID``; ``/tokens`` streams an async generator in one line
(a POST, as LLM APIs do). ``setup(app)`` ends every open stream cleanly on shutdown.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

from aiohttp import web

import sse_fast
from sse_fast.adapters.aiohttp import setup, sse_response, stream


async def clock(request: web.Request) -> web.StreamResponse:
    async with sse_response(request, ping_interval=15) as response:
        last = response.last_event_id or ""  # decoded as UTF-8, as browsers send it
        n = int(last) if last.isdigit() else 0
        while response.is_connected():
            n += 1
            await response.send(time.strftime("%H:%M:%S"), id=str(n), event="tick")
            await asyncio.sleep(1)
    return response


async def tokens(request: web.Request) -> web.StreamResponse:
    prompt = str((await request.json()).get("prompt", ""))

    async def answer() -> AsyncIterator[sse_fast.ServerSentEvent | str]:
        for word in f"You said: {prompt}".split():
            yield sse_fast.json_event({"token": word + " "}, event="token")
            await asyncio.sleep(0.05)  # as a model would, token by token
        yield "[DONE]"

    return await stream(request, answer(), allow_all_methods=True)


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/clock", clock)
    app.router.add_post("/tokens", tokens)
    setup(app)
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
