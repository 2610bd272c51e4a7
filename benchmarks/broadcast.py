"""The broker in one process: fan-out speed, memory per idle subscriber, replay time.

    flock /tmp/sse_bench.lock .venv/bin/python benchmarks/broadcast.py \\
        [--subscribers 10000] [--publishes 10] [--repeat 5] [--idle 2000]

Every subscriber is a whole SSE response (the ASGI app, on an in-memory transport that
counts what it is sent), so the figures include the framing and the engine. Contenders:
``sse_fast.broadcast.Broker`` (memory backend) feeding sse_fast's Starlette
``EventSourceResponse``, and encode/broadcaster 0.3 (``memory://``) feeding
sse-starlette 3.7's ``EventSourceResponse``, the pair an app uses today. Each round
publishes one event at a time and waits until every subscriber's response has sent it.
Medians of ``--repeat`` rounds, each in a fresh broker; both contenders in this run.
sse_fast's responses wait at the topic's head, so each publish writes the event through
all of them itself (the push path); the "broker alone" row reads each subscription with
a bare task instead (``async for``), the path of a subscription that no stream consumes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import sse_starlette
from broadcaster import Broadcast

from sse_fast.adapters.starlette import EventSourceResponse
from sse_fast.broadcast import Broker, Event, Subscription

TOPIC = "bench:room"
SCOPE = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.4"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/events",
    "raw_path": b"/events",
    "query_string": b"",
    "headers": [(b"host", b"127.0.0.1")],
    "client": ("127.0.0.1", 40000),
    "server": ("127.0.0.1", 8000),
}
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class Clients:
    """In-memory transports for many responses: counts the events they send."""

    def __init__(self) -> None:
        self.delivered = 0
        self.target = 0
        self.reached = asyncio.Event()
        self.leave = asyncio.Event()

    def receiver(self) -> Callable[[], Awaitable[dict[str, Any]]]:
        """One connection's ``receive``: the (empty) request body, then the disconnect."""
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await self.leave.wait()
            return {"type": "http.disconnect"}

        return receive

    async def send(self, message: dict[str, Any]) -> None:
        body = message.get("body")
        if body:
            self.delivered += body.count(b"data:")
            if self.delivered >= self.target:
                self.reached.set()

    async def expect(self, total: int) -> None:
        self.target = total
        if self.delivered < total:
            self.reached.clear()
            await self.reached.wait()


class SseFast:
    name = "sse_fast Broker + EventSourceResponse"

    async def __aenter__(self) -> SseFast:
        self.broker = Broker()
        await self.broker.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.broker.close()

    async def app(self) -> App:
        # As subscribe_response() does: the handshake before the response starts.
        subscription = self.broker.subscribe(TOPIC)
        await subscription.open()
        return EventSourceResponse(subscription, ping=0)

    def subscribers(self) -> int:
        ring = self.broker._hub.rings.get(TOPIC)
        return 0 if ring is None else ring.users

    async def publish(self, data: str) -> None:
        await self.broker.publish(TOPIC, data)


class BroadcasterStarlette:
    name = "broadcaster 0.3 + sse-starlette 3.7"

    async def __aenter__(self) -> BroadcasterStarlette:
        self.broadcast = Broadcast("memory://")
        await self.broadcast.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.broadcast.disconnect()

    async def app(self) -> App:
        async def events() -> AsyncIterator[sse_starlette.ServerSentEvent]:
            async with self.broadcast.subscribe(TOPIC) as subscriber:
                # broadcaster 0.3's annotations allow None where it never yields one.
                async for event in subscriber:  # type: ignore[union-attr]
                    yield sse_starlette.ServerSentEvent(data=event.message)  # type: ignore[union-attr]

        return sse_starlette.EventSourceResponse(events(), ping=3600)

    def subscribers(self) -> int:
        return len(self.broadcast._subscribers.get(TOPIC, ()))

    async def publish(self, data: str) -> None:
        await self.broadcast.publish(TOPIC, data)


Contender = type[SseFast] | type[BroadcasterStarlette]


async def connect(contender: Any, clients: Clients, count: int) -> list[asyncio.Task[None]]:
    tasks = [
        asyncio.ensure_future(
            (await contender.app())(dict(SCOPE), clients.receiver(), clients.send)
        )
        for _ in range(count)
    ]
    while contender.subscribers() < count:
        await asyncio.sleep(0.01)
    return tasks


async def disconnect(clients: Clients, tasks: list[asyncio.Task[None]]) -> None:
    clients.leave.set()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)


async def fan_out(kind: Contender, subscribers: int, publishes: int) -> tuple[float, float]:
    """(seconds, CPU seconds) for ``publishes`` events to every subscriber."""
    async with kind() as contender:
        clients = Clients()
        tasks = await connect(contender, clients, subscribers)
        await contender.publish("warm-up")
        await clients.expect(subscribers)
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        for n in range(publishes):
            await contender.publish(f"event {n}")
            await clients.expect(subscribers * (n + 2))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        await disconnect(clients, tasks)
    return wall, cpu


async def hub_only(subscribers: int, publishes: int) -> tuple[float, float]:
    """As :func:`fan_out`, with each subscription read by a bare task: the broker's share."""
    async with Broker() as broker:
        clients = Clients()

        async def read(subscription: Subscription) -> None:
            async for _ in subscription:
                clients.delivered += 1
                if clients.delivered >= clients.target:
                    clients.reached.set()

        subscriptions = [broker.subscribe(TOPIC) for _ in range(subscribers)]
        for subscription in subscriptions:
            await subscription.open()
        tasks = [asyncio.ensure_future(read(subscription)) for subscription in subscriptions]
        await broker.publish(TOPIC, "warm-up")
        await clients.expect(subscribers)
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        for n in range(publishes):
            await broker.publish(TOPIC, f"event {n}")
            await clients.expect(subscribers * (n + 2))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return wall, cpu


async def idle_memory(kind: Contender, count: int) -> float:
    """Bytes per idle subscriber above an idle response of the same library."""

    async def never() -> AsyncIterator[str]:
        await asyncio.Event().wait()
        yield ""

    async def idle_app() -> App:
        if kind is SseFast:
            return EventSourceResponse(never(), ping=0)
        return sse_starlette.EventSourceResponse(never(), ping=3600)

    async with kind() as contender:
        per_stream = []
        for make in (idle_app, contender.app):
            clients = Clients()
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            tasks = [
                asyncio.ensure_future((await make())(dict(SCOPE), clients.receiver(), clients.send))
                for _ in range(count)
            ]
            for _ in range(20):
                await asyncio.sleep(0.01)
            if make is contender.app:
                while contender.subscribers() < count:
                    await asyncio.sleep(0.01)
            gc.collect()
            per_stream.append((tracemalloc.get_traced_memory()[0] - before) / count)
            tracemalloc.stop()
            await disconnect(clients, tasks)
    return per_stream[1] - per_stream[0]


async def replay(missed: int) -> float:
    """Seconds from subscribing with a cursor ``missed`` events back to holding their frames."""
    async with Broker(history=missed) as broker:
        cursor = f"{(await broker.head(TOPIC)).split('.')[0]}.0"
        for n in range(missed):
            await broker.publish(TOPIC, f"event {n}", event="update")
        start = time.perf_counter()
        frames = 0
        async with broker.subscribe(TOPIC, last_event_id=cursor) as subscription:
            async for item in subscription:
                assert isinstance(item, Event)
                frames += len(item.__sse_frame__("\n")) > 0
                if frames == missed:
                    break
        return time.perf_counter() - start


def human(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--publishes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--idle", type=int, default=2000)
    args = parser.parse_args()
    kinds: list[Contender] = [SseFast, BroadcasterStarlette]
    rate: dict[Contender, float] = {}
    cpu: dict[Contender, float] = {}
    memory: dict[Contender, float] = {}
    deliveries = args.subscribers * args.publishes
    runs: dict[Contender, list[tuple[float, float]]] = {kind: [] for kind in kinds}
    for _ in range(args.repeat):
        for kind in kinds:  # interleaved, so both see the same machine
            runs[kind].append(await fan_out(kind, args.subscribers, args.publishes))
    for kind in kinds:
        rate[kind] = deliveries / statistics.median(wall for wall, _ in runs[kind])
        cpu[kind] = statistics.median(c for _, c in runs[kind]) / deliveries
        memory[kind] = await idle_memory(kind, args.idle)
    bare = [await hub_only(args.subscribers, args.publishes) for _ in range(args.repeat)]
    bare_rate = deliveries / statistics.median(wall for wall, _ in bare)
    bare_cpu = statistics.median(c for _, c in bare) / deliveries
    replay_time = statistics.median([await replay(1000) for _ in range(max(args.repeat, 11))])

    ours, theirs = kinds
    print(
        f"Fan-out: one publish at a time to {args.subscribers:,} subscribers in one process "
        f"({args.publishes} publishes, median of {args.repeat} rounds)\n"
    )
    print(f"| | {ours.name} | {theirs.name} | ratio |")
    print("|---|---:|---:|---:|")
    print(
        f"| deliveries/s | {rate[ours]:,.0f} | {rate[theirs]:,.0f} | "
        f"{rate[ours] / rate[theirs]:.1f}x |"
    )
    print(
        f"| CPU per delivery | {human(cpu[ours])} | {human(cpu[theirs])} | "
        f"{cpu[theirs] / cpu[ours]:.1f}x less |"
    )
    print(
        f"| memory per idle subscriber, above an idle stream ({args.idle:,} streams) | "
        f"{memory[ours]:,.0f} B | {memory[theirs]:,.0f} B | |"
    )
    print(
        f"| the broker alone (each subscription read by a bare task): deliveries/s, CPU "
        f"| {bare_rate:,.0f}, {human(bare_cpu)} | | |"
    )
    print(
        f"| replay of 1,000 missed events (subscribe to last frame) | {human(replay_time)} "
        "| n/a | |"
    )


if __name__ == "__main__":
    asyncio.run(main())
