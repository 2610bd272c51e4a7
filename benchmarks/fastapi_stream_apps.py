"""The FastAPI app that benchmarks/streaming_fastapi.py serves with uvicorn.

``/native/<shape>?n=N`` is FastAPI's own SSE, ``/sse_fast/<shape>?n=N`` the same path
operation on the sse_fast adapter: N pydantic ``Token`` items, validated against the
declared item type and dumped by pydantic, as FastAPI does. ``<shape>`` is ``idle``
for one item and then an open, quiet stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from types import ModuleType

import anyio
import anyio.lowlevel
from fastapi import APIRouter, FastAPI
from fastapi import sse as native_sse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from sse_fast.adapters import fastapi as sse_fast_sse


class Token(BaseModel):
    token: str


TOKEN = Token(token="hello")


async def tokens(shape: str, n: int) -> AsyncIterator[Token]:
    """``fast``: no await between items; ``turn``: a checkpoint after every item;
    ``idle``: one item, then nothing."""
    if shape == "idle":
        yield TOKEN
        await anyio.sleep_forever()
    checkpoint_every = {"fast": n + 1, "turn": 1}[shape]
    for i in range(1, n + 1):
        yield TOKEN
        if i % checkpoint_every == 0:
            await anyio.lowlevel.checkpoint()


def router(sse: ModuleType) -> APIRouter:
    route_class = getattr(sse, "EventSourceRoute", APIRoute)
    routes = APIRouter(route_class=route_class)

    @routes.get("/{shape}", response_class=sse.EventSourceResponse)
    async def stream(shape: str, n: int = 1000) -> AsyncIterable[Token]:
        async for token in tokens(shape, n):
            yield token

    return routes


app = FastAPI()
app.include_router(router(native_sse), prefix="/native")
app.include_router(router(sse_fast_sse), prefix="/sse_fast")
