"""A broker behind Starlette (run by uvicorn) and behind aiohttp, for the real-server tests.

    uvicorn broadcast_apps:app --port 8080
    python broadcast_apps.py --port 8080          # the aiohttp app

``GET /events/{topic}`` streams a topic (``private:*`` topics are denied: 403), and
under uvicorn ``GET /asgi/{topic}`` does with a raw ``EventSourceApp``;
``POST /publish/{topic}`` publishes the body and answers the event id;
``GET /subscribers/{topic}`` answers how many subscriptions of the topic are open.
``SSE_TEST_MAX_SUBSCRIBERS`` in the environment sets the broker's ``max_subscribers``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from sse_fast.adapters.asgi import EventSourceApp
from sse_fast.adapters.asgi import Request as ASGIRequest
from sse_fast.broadcast import Broker, Subscription, last_event_id
from sse_fast.broadcast import aiohttp as broadcast_aiohttp
from sse_fast.broadcast import starlette as broadcast_starlette

broker = Broker(
    history=50, max_subscribers=int(os.environ.get("SSE_TEST_MAX_SUBSCRIBERS", 0)) or None
)


def may_read(request: Any, topic: str) -> bool:
    return not topic.startswith("private:")


async def may_read_async(request: Any, topic: str) -> bool:
    return may_read(request, topic)


async def events(request: Request) -> Response:
    hook = may_read_async if "async" in request.query_params else may_read
    return await broadcast_starlette.subscribe_response(
        broker, request, request.path_params["topic"], authorize=hook, ping=0
    )


def asgi_events(request: ASGIRequest) -> Subscription:
    """A raw EventSourceApp handler: a subscription is a source like any other."""
    topic = request.scope["path_params"]["topic"]
    return broker.subscribe(topic, last_event_id=last_event_id(request))


async def publish(request: Request) -> Response:
    event_id = await broker.publish(request.path_params["topic"], await request.body())
    return PlainTextResponse(event_id)


def subscriber_count(topic: str) -> str:
    ring = broker._hub.rings.get(topic)
    return str(0 if ring is None else ring.users)


async def subscribers(request: Request) -> Response:
    return PlainTextResponse(subscriber_count(request.path_params["topic"]))


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    async with broker:
        yield


app = Starlette(
    routes=[
        Route("/events/{topic:path}", events),
        Route("/asgi/{topic:path}", EventSourceApp(asgi_events, ping=0)),
        Route("/publish/{topic:path}", publish, methods=["POST"]),
        Route("/subscribers/{topic:path}", subscribers),
    ],
    lifespan=lifespan,
)


async def aiohttp_events(request: web.Request) -> web.StreamResponse:
    hook = may_read_async if "async" in request.query else may_read
    return await broadcast_aiohttp.subscribe_response(
        broker, request, request.match_info["topic"], authorize=hook, ping_interval=0
    )


async def aiohttp_publish(request: web.Request) -> web.Response:
    return web.Response(
        text=await broker.publish(request.match_info["topic"], await request.read())
    )


async def aiohttp_subscribers(request: web.Request) -> web.Response:
    return web.Response(text=subscriber_count(request.match_info["topic"]))


async def aiohttp_broker(app: web.Application) -> AsyncIterator[None]:
    async with broker:
        yield


def make_aiohttp_app() -> web.Application:
    aiohttp_app = web.Application()
    aiohttp_app.cleanup_ctx.append(aiohttp_broker)
    aiohttp_app.router.add_get("/events/{topic:.*}", aiohttp_events)
    aiohttp_app.router.add_post("/publish/{topic:.*}", aiohttp_publish)
    aiohttp_app.router.add_get("/subscribers/{topic:.*}", aiohttp_subscribers)
    return aiohttp_app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    web.run_app(
        make_aiohttp_app(),
        host="127.0.0.1",
        port=parser.parse_args().port,
        print=None,
        access_log=None,
    )
