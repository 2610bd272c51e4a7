"""The peer that benchmarks/redis_fanout.py measures sse_fast against, as an ASGI app.

encode/broadcaster 0.3 on its Redis backend feeding sse-starlette 3.7, written the way
their documentation shows: one ``broadcast.subscribe`` per SSE client. ``BENCH_REDIS_URL``
names the Redis. (sse_fast's side is examples/broadcast_app.py itself.)

broadcaster 0.3.1 on redis-py 8 goes deaf at its first subscription: its listener task
wakes before redis-py records the channel, sees no subscription and waits for a signal
that only a later subscribe sends. The lifespan therefore holds two standing
subscriptions, taken one after the other, so the peer works at all.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from broadcaster import Broadcast
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

broadcast = Broadcast(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))


async def events(request: Request) -> Response:
    async def messages() -> AsyncIterator[dict[str, str]]:
        async with broadcast.subscribe(request.path_params["topic"]) as subscriber:
            async for event in subscriber:  # type: ignore[union-attr]
                if event is not None:
                    yield {"data": event.message}

    return EventSourceResponse(messages())


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await broadcast.connect()
    try:
        async with AsyncExitStack() as standing:
            for name in ("standing:1", "standing:2"):
                await standing.enter_async_context(broadcast.subscribe(name))
                await asyncio.sleep(0.05)
            yield
    finally:
        await broadcast.disconnect()


broadcaster_app = Starlette(routes=[Route("/events/{topic}", events)], lifespan=lifespan)
