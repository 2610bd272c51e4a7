"""The same path operations twice: on FastAPI's native SSE and on sse_fast's adapter.

``native_app`` uses ``fastapi.sse``; ``app`` changes only the import and the route
class. ``/log`` returns what the dependencies, generators and background tasks did,
in order, so a test can compare the two apps' lifecycles.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from datetime import datetime, timezone
from types import ModuleType
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Response
from fastapi import sse as native_sse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

import sse_fast
from sse_fast.adapters import fastapi as sse_fast_sse
from sse_fast.adapters import starlette as starlette_adapter
from sse_fast.broadcast import Broker, Event, Reset

log: list[str] = []


class Item(BaseModel):
    name: str
    price: float
    when: datetime = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    display_name: str = Field(default="ünï", alias="displayName")
    note: str | None = None


ITEMS = [Item(name="spam", price=1.5), Item(name="line\nbreak", price=math.inf, note="n")]


class SpecialItem(Item):
    secret: str = "not in the declared type"


class Order(BaseModel):
    count: int


def events(sse: ModuleType) -> list[Any]:
    event = sse.ServerSentEvent
    return [
        event(data={"a": 1, "b": [1.5, None, math.nan]}, event="e", id="1", retry=2500),
        event(data="text", comment="one\ntwo\r\nthree"),
        event(raw_data="raw\nlines\r\nhere", event="raw", id="ïd"),
        event(data=ITEMS[0], id="2"),
        event(comment="only a comment"),
        event(event="empty", retry=0),
        event(data=None, raw_data=None, id=""),
        event(data=["list", 2, True]),
        event(raw_data=""),
    ]


async def resource() -> AsyncIterator[str]:
    log.append("dependency opened")
    try:
        yield "resource"
    finally:
        log.append("dependency closed")


def feed_header(response: Response, created: bool = False) -> None:
    """Status and headers set before the stream starts, as a dependency can."""
    if created:
        response.status_code = 201
    response.headers["x-feed"] = "yes"
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")


def build(sse: ModuleType) -> FastAPI:
    """The path operations, with ``sse`` as ``fastapi.sse`` or the sse_fast adapter."""
    app = FastAPI(title="feed")
    route_class = getattr(sse, "EventSourceRoute", None)
    router = APIRouter(route_class=route_class) if route_class else APIRouter()
    response_class = sse.EventSourceResponse

    @router.get("/items", response_class=response_class)
    async def items() -> AsyncIterable[Item]:
        for item in ITEMS:
            yield item

    @router.get(
        "/items-options",
        response_class=response_class,
        response_model_exclude_none=True,
        response_model_by_alias=False,
    )
    async def items_with_options() -> AsyncIterable[Item]:
        for item in ITEMS:
            yield item
        yield SpecialItem(name="subclass", price=2)

    @router.get("/undeclared", response_class=response_class)
    async def undeclared():  # type: ignore[no-untyped-def]
        for item in ITEMS:
            yield item
        yield {"dict": "ünï", "nan": math.nan, "when": ITEMS[0].when}
        yield "plain text"
        yield 3

    @router.get("/events", response_class=response_class)
    async def all_events() -> AsyncIterable[native_sse.ServerSentEvent]:
        for event in events(sse):
            yield event

    @router.get("/dicts", response_class=response_class)
    async def dicts(n: int = 3) -> AsyncIterable[dict[str, int]]:
        for i in range(n):
            yield {"i": i}

    @router.get("/sync", response_class=response_class)
    def sync_items() -> Iterable[Item]:
        yield from ITEMS

    @router.post("/orders", response_class=response_class)
    async def orders(order: Order) -> AsyncIterable[Order]:
        for count in range(order.count):
            yield Order(count=count)

    @router.get("/invalid", response_class=response_class)
    async def invalid() -> AsyncIterable[Item]:
        yield ITEMS[0]
        yield {"name": "no price"}  # type: ignore[misc]

    @router.put("/status", response_class=response_class, status_code=202)
    async def status(
        response: Response, header: Annotated[None, Depends(feed_header)]
    ) -> AsyncIterable[int]:
        yield 1

    @router.get("/lifecycle", response_class=response_class)
    async def lifecycle(
        background: BackgroundTasks,
        used: Annotated[str, Depends(resource)],
        n: int = 2,
        forever: bool = False,
    ) -> AsyncIterable[str]:
        background.add_task(log.append, "background task")
        try:
            i = 0
            while forever or i < n:
                log.append(f"yield {i} with {used}")
                yield f"{i}"
                i += 1
                await asyncio.sleep(0.01 if forever else 0)
        finally:
            log.append("generator closed")

    @router.get("/sync-lifecycle", response_class=response_class)
    def sync_lifecycle(used: Annotated[str, Depends(resource)]) -> Iterator[str]:
        try:
            log.append(f"sync yield with {used}")
            yield "once"
        finally:
            log.append("generator closed")

    router.add_api_route("/log", read_log)

    app.include_router(router)
    return app


def read_log() -> list[str]:
    """What happened since the last read."""
    entries = list(log)
    log.clear()
    return entries


class Framed:
    """Stands for a broker event: it frames itself, once, for every subscriber."""

    def __init__(self, wire: bytes) -> None:
        self.wire = wire

    def __sse_frame__(self, sep: str) -> bytes:
        return self.wire.replace(b"\n", sep.encode())


def add_engine_routes(app: FastAPI) -> None:
    """What only the sse_fast adapter has: engine options and the Last-Event-ID reader."""
    router = APIRouter(route_class=sse_fast_sse.EventSourceRoute)
    response_class = sse_fast_sse.EventSourceResponse

    async def slow(label: str) -> AsyncIterator[str]:
        try:
            yield label
            await asyncio.sleep(60)
        finally:
            log.append(f"{label} closed")

    @router.get("/pinged", response_class=response_class.with_options(ping=0.2))
    async def pinged() -> AsyncIterable[str]:
        async for item in slow("pinged"):
            yield item

    @router.get("/quiet", response_class=response_class.with_options(ping=0))
    async def quiet() -> AsyncIterable[str]:
        async for item in slow("quiet"):
            yield item

    @router.get("/frozen-client", response_class=response_class.with_options(send_timeout=0.5))
    async def frozen_client() -> AsyncIterable[str]:
        try:
            while True:
                yield "x" * 65536
        finally:
            log.append("frozen client dropped")

    @router.get("/resume", response_class=response_class)
    async def resume(
        last_id: sse_fast_sse.LastEventID,
    ) -> AsyncIterable[sse_fast_sse.ServerSentEvent]:
        yield sse_fast_sse.ServerSentEvent(raw_data=last_id, id=last_id + "+1")

    @router.get("/prepared", response_class=response_class)
    async def prepared() -> AsyncIterable[Item]:
        yield Framed(b"id: 7\nevent: quote\ndata: framed once\n\n")  # type: ignore[misc]
        yield ITEMS[0]

    @router.get("/direct")
    async def direct() -> sse_fast_sse.EventSourceResponse:
        def chunks() -> Iterator[Any]:
            yield ": made by hand\n\n"
            yield b"data: bytes\n\n"
            yield Order(count=1)
            yield sse_fast.ServerSentEvent("from a queue", id="q1")

        return sse_fast_sse.EventSourceResponse(chunks())

    app.include_router(router, prefix="/engine")


native_app = build(native_sse)
app = build(sse_fast_sse)
add_engine_routes(app)


def write(line: str) -> None:
    with open(os.environ["FASTAPI_DRAIN_LOG"], "a") as file:
        file.write(line + "\n")


async def logged_resource() -> AsyncIterator[str]:
    try:
        yield "resource"
    finally:
        write("dependency closed")


def _build_drain_app() -> FastAPI:
    """``/forever`` never ends by itself; ``$FASTAPI_DRAIN_LOG`` gets what happened.
    On shutdown both it and ``/starlette-forever`` (the Starlette adapter's response,
    returned by a path operation) send a farewell."""
    drain_app = FastAPI(lifespan=sse_fast_sse.lifespan(signals=True))
    drain_app.router.route_class = sse_fast_sse.EventSourceRoute
    response_class = sse_fast_sse.EventSourceResponse.with_options(
        ping=0, farewell=native_sse.ServerSentEvent(data={"bye": True}, event="bye")
    )

    @drain_app.get("/forever", response_class=response_class)
    async def forever(
        background: BackgroundTasks, used: Annotated[str, Depends(logged_resource)]
    ) -> AsyncIterable[int]:
        background.add_task(write, "background task")
        try:
            n = 0
            while True:
                yield n
                n += 1
                await asyncio.sleep(0.05)
        finally:
            write("generator closed")

    @drain_app.get("/starlette-forever")
    async def starlette_forever() -> starlette_adapter.EventSourceResponse:
        async def numbers() -> AsyncIterator[str]:
            n = 0
            while True:
                yield str(n)
                n += 1
                await asyncio.sleep(0.05)

        farewell = starlette_adapter.ServerSentEvent("going away", event="bye")
        return starlette_adapter.EventSourceResponse(numbers(), ping=0, farewell=farewell)

    return drain_app


drain_app = _build_drain_app()


def _build_broker_app() -> FastAPI:
    """A broker's topics and an EventQueue as what path operations return or yield from.

    ``POST /publish/{topic}?data=`` publishes; ``/returned/{topic}`` returns
    ``EventSourceResponse(subscription)``; ``/yielded/{topic}`` is a generator path
    operation that ``async for``s a subscription and yields its ``Event``/``Reset``
    items (``/declared/{topic}`` the same with a declared item type); ``/queue`` returns
    ``EventSourceResponse(queue)`` fed by a task (``/queue-until-gone`` until a put is
    refused: it logs that). ``/log`` as in the other apps.
    """
    broker = Broker()
    feeding: set[asyncio.Task[None]] = set()  # the queues' producers, kept from the GC

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with broker, sse_fast_sse.lifespan()(app):
            yield

    broker_app = FastAPI(lifespan=lifespan)
    broker_app.router.route_class = sse_fast_sse.EventSourceRoute
    response_class = sse_fast_sse.EventSourceResponse.with_options(ping=0)

    broker_app.add_api_route("/log", read_log)

    @broker_app.post("/publish/{topic}")
    async def publish(topic: str, data: str) -> str:
        return await broker.publish(topic, data)

    @broker_app.get("/returned/{topic}")
    async def returned(
        topic: str, last_id: sse_fast_sse.LastEventID
    ) -> sse_fast_sse.EventSourceResponse:
        subscription = broker.subscribe(topic, last_event_id=last_id or None)
        await subscription.open()  # before the response starts: a refusal is still possible
        return response_class(subscription, background=BackgroundTask(subscription.close))

    @broker_app.get("/yielded/{topic}", response_class=response_class)
    async def yielded(topic: str, last_id: sse_fast_sse.LastEventID):  # type: ignore[no-untyped-def]
        async with broker.subscribe(topic, last_event_id=last_id or None) as subscription:
            async for item in subscription:
                yield item

    # Event and Reset are not pydantic types: response_model=None keeps FastAPI from
    # building a validator for the declared item type (they frame themselves).
    @broker_app.get("/declared/{topic}", response_class=response_class, response_model=None)
    async def declared(
        topic: str, last_id: sse_fast_sse.LastEventID
    ) -> AsyncIterable[Event | Reset]:
        async with broker.subscribe(topic, last_event_id=last_id or None) as subscription:
            async for item in subscription:
                yield item

    @broker_app.get("/queue")
    async def queue_stream() -> sse_fast_sse.EventSourceResponse:
        queue = sse_fast.EventQueue()

        async def feed() -> None:
            await queue.put(sse_fast.ServerSentEvent("engine event", id="1"))
            await queue.put(native_sse.ServerSentEvent(data={"fastapi": "event"}, event="e"))
            await queue.put(Order(count=2))
            await queue.put({"plain": "dict"})
            await queue.put(b"data: framed\n\n")
            queue.close()

        feeding.add(asyncio.get_running_loop().create_task(feed()))
        return response_class(queue)

    @broker_app.get("/queue-until-gone")
    async def queue_until_gone() -> sse_fast_sse.EventSourceResponse:
        queue = sse_fast.EventQueue()

        async def feed() -> None:
            try:
                for n in itertools.count():
                    await queue.put(str(n))
                    await asyncio.sleep(0.02)
            except ConnectionResetError as exc:
                log.append(f"put refused: {exc}")

        feeding.add(asyncio.get_running_loop().create_task(feed()))
        return response_class(queue)

    return broker_app


broker_app = _build_broker_app()
