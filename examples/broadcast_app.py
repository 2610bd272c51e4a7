"""Broadcasting with replay: a topic for many browsers, and an answer that survives a reload.

    python examples/broadcast_app.py                  # memory backend, PORT (default 8000)
    uvicorn broadcast_app:app --app-dir examples      # the same, under uvicorn
    REDIS_URL=redis://127.0.0.1:6379/0 uvicorn broadcast_app:app --app-dir examples --workers 2

``GET /events/{topic}`` streams a topic; a browser that reconnects sends
``Last-Event-ID`` and gets what it missed (a page can also pass
``?last_event_id=``). ``POST /publish/{topic}`` publishes the request body and answers
the event id. ``POST /answers`` starts generating an answer to the question in the body,
token by token, into a topic of its own, and answers ``{"topic": ..., "cursor": ...}``:
the page streams ``/events/<topic>?last_event_id=<cursor>``. The generation runs to the
end even when the browser leaves; a reload resumes after the last token the page saw.

With ``REDIS_URL`` set the topics live in Redis, so every worker process sees every
event; without it they live in this process (one worker only).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sse_fast.adapters.starlette import lifespan as drain_streams
from sse_fast.broadcast import Broker
from sse_fast.broadcast.starlette import subscribe_response

ANSWER = (
    "Server-Sent Events keep one HTTP response open and write each event as a few lines "
    "of text. The browser's EventSource reconnects by itself and sends the id of the last "
    "event it saw, so a server that keeps a short history can resume exactly where the "
    "page left off, even after a reload."
)
TOKEN_DELAY = float(os.environ.get("ANSWER_TOKEN_DELAY", "0.15"))


def make_broker() -> Broker:
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        from sse_fast.broadcast import RedisBackend

        return Broker(RedisBackend.from_url(redis_url))
    return Broker()


broker = make_broker()
# Answers being generated: held here, not by a request, so a browser leaving stops nothing.
generations: set[asyncio.Task[None]] = set()


async def events(request: Request) -> Response:
    return await subscribe_response(broker, request, request.path_params["topic"], ping=15)


async def publish(request: Request) -> Response:
    event_id = await broker.publish(request.path_params["topic"], await request.body())
    return PlainTextResponse(event_id)


async def generate(topic: str, question: str) -> None:
    await broker.publish(topic, question, event="question")
    words = ANSWER.split(" ")
    for index, word in enumerate(words):
        await asyncio.sleep(TOKEN_DELAY)
        await broker.publish(topic, word if index == 0 else " " + word, event="token")
    await broker.publish(topic, ANSWER, event="done")


async def answers(request: Request) -> Response:
    question = (await request.body()).decode() or "How does SSE resume?"
    topic = f"answer:{secrets.token_hex(6)}"
    cursor = await broker.head(topic)  # before the first token: the page replays them all
    task = asyncio.ensure_future(generate(topic, question))
    generations.add(task)
    task.add_done_callback(generations.discard)
    return JSONResponse({"topic": topic, "cursor": cursor})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # The broker runs while the app does; Ctrl-C or SIGTERM ends the open streams at once.
    async with drain_streams(signals=True)(app), broker:
        yield
        for task in list(generations):
            task.cancel()


routes = [
    Route("/events/{topic:path}", events),
    Route("/publish/{topic:path}", publish, methods=["POST"]),
    Route("/answers", answers, methods=["POST"]),
]
app = Starlette(routes=routes, lifespan=lifespan)


if __name__ == "__main__":
    uvicorn.run(
        app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")), log_level="warning"
    )
