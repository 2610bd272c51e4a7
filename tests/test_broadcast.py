"""The broker's contract, over every backend in broker_backends.py.

Ids, replay after a cursor (complete or exactly one Reset), lag, topic and input
validation, cleanup, and a subscription streamed by the engine.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from broker_backends import BackendFactory

from sse_fast.broadcast import (
    Broker,
    Event,
    MemoryBackend,
    Reset,
    Subscription,
    TooManySubscribers,
)
from sse_fast.broadcast._backend import parse_id
from sse_fast.stream import EventStream, Outcome, Shutdown

pytestmark = pytest.mark.anyio
TIMEOUT = 10


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the hub is built on asyncio


@asynccontextmanager
async def started(
    backend_factory: BackendFactory, *, history: int = 1000, **options: Any
) -> AsyncIterator[Broker]:
    backend = backend_factory(history=history)
    with anyio.fail_after(TIMEOUT):
        async with Broker(backend, history=history, **options) as broker:
            yield broker


class Reader:
    """A subscription's items, read one at a time; a wait that times out loses nothing."""

    def __init__(self, subscription: Subscription) -> None:
        self._items = subscription.__aiter__()
        self._next: asyncio.Future[Event | Reset] | None = None

    def __aiter__(self) -> Reader:
        return self

    async def __anext__(self) -> Event | Reset:
        if self._next is None:
            self._next = asyncio.ensure_future(anext(self._items))
        item = await asyncio.shield(self._next)
        self._next = None
        return item


async def take(reader: Reader, count: int) -> list[Event | Reset]:
    with anyio.fail_after(5):
        return [await anext(reader) for _ in range(count)]


async def nothing_more(reader: Reader) -> bool:
    with anyio.move_on_after(0.05):
        await anext(reader)
        return False
    return True


async def live_follows(broker: Broker, items: Reader) -> bool:
    """Whether the next item is the event published now (to topic "t")."""
    live = await broker.publish("t", "live")
    return [item.id for item in await take(items, 1)] == [live]


def seq(item: Event | Reset | str) -> int:
    parsed = parse_id(item if isinstance(item, str) else item.id)
    assert parsed is not None
    return parsed[1]


def open_iterator(subscription: Subscription) -> Reader:
    return Reader(subscription)


async def test_publish_returns_dense_ids_in_one_epoch(backend_factory: BackendFactory) -> None:
    async with started(backend_factory) as broker:
        ids = [await broker.publish("room:1", f"m{n}") for n in range(3)]
        parsed = [parse_id(i) for i in ids]
        assert [p[1] for p in parsed if p] == [1, 2, 3]
        assert len({p[0] for p in parsed if p}) == 1
        assert await broker.head("room:1") == ids[-1]


async def test_a_new_subscriber_gets_only_what_is_published_after_it(
    backend_factory: BackendFactory,
) -> None:
    async with started(backend_factory) as broker:
        await broker.publish("t", "before")
        async with broker.subscribe("t") as sub:
            assert sub.replay == "none"
            items = open_iterator(sub)
            event_id = await broker.publish("t", "after", event="note")
            assert await take(items, 1) == [Event(event_id, "t", "note", "after")]


async def test_every_subscriber_gets_every_event_in_order(backend_factory: BackendFactory) -> None:
    async with (
        started(backend_factory) as broker,
        broker.subscribe("t") as first,
        broker.subscribe("t") as second,
    ):
        streams = [open_iterator(first), open_iterator(second)]
        ids = [await broker.publish("t", str(n)) for n in range(50)]
        for stream in streams:
            assert [item.id for item in await take(stream, 50)] == ids


async def test_one_event_is_framed_once_for_all_subscribers(
    backend_factory: BackendFactory,
) -> None:
    async with (
        started(backend_factory) as broker,
        broker.subscribe("t") as first,
        broker.subscribe("t") as second,
    ):
        a, b = open_iterator(first), open_iterator(second)
        await broker.publish("t", "line one\nline two", event="x")
        [event_a], [event_b] = await take(a, 1), await take(b, 1)
        assert event_a is event_b
        frame = event_a.__sse_frame__("\n")
        assert frame is event_b.__sse_frame__("\n")
        assert frame == (f"id: {event_a.id}\nevent: x\ndata: line one\ndata: line two\n\n".encode())


async def test_replay_after_a_cursor_then_live(backend_factory: BackendFactory) -> None:
    async with started(backend_factory) as broker:
        ids = [await broker.publish("t", str(n)) for n in range(1, 11)]
        async with broker.subscribe("t", last_event_id=ids[2]) as sub:
            assert sub.replay == "complete"
            assert sub.head == ids[-1]
            items = open_iterator(sub)
            assert [item.id for item in await take(items, 7)] == ids[3:]
            live = await broker.publish("t", "11")
            assert [item.id for item in await take(items, 1)] == [live]
            assert await nothing_more(items)


async def test_replay_from_backend_history_beyond_the_ring(backend_factory: BackendFactory) -> None:
    async with started(backend_factory, history=50) as broker:
        ids = [await broker.publish("t", str(n)) for n in range(40)]
        # Another subscriber keeps the ring alive while more is published than it holds.
        async with broker.subscribe("t") as keeper:
            more = [await broker.publish("t", str(n)) for n in range(30)]
            async with broker.subscribe("t", last_event_id=ids[30]) as sub:
                items = open_iterator(sub)
                assert [item.id for item in await take(items, 39)] == ids[31:] + more
            del keeper


async def publish_until(broker: Broker, topic: str, stop: asyncio.Event, ids: list[str]) -> None:
    while not stop.is_set():
        ids.append(await broker.publish(topic, "x"))
        await asyncio.sleep(0)


async def test_replay_is_exact_while_a_publisher_races_the_handshake(
    backend_factory: BackendFactory,
) -> None:
    async with started(backend_factory) as broker:
        for _ in range(100):
            cursor = await broker.publish("race", "start")
            stop = asyncio.Event()
            published: list[str] = []
            task = asyncio.ensure_future(publish_until(broker, "race", stop, published))
            await asyncio.sleep(0)
            async with broker.subscribe("race", last_event_id=cursor) as sub:
                items = open_iterator(sub)
                received = await take(items, 3)
                stop.set()
                await task
                received += await take(items, seq(published[-1]) - seq(received[-1]))
            assert all(isinstance(item, Event) for item in received)
            assert [seq(item) for item in received] == list(
                range(seq(cursor) + 1, seq(published[-1]) + 1)
            )


async def test_a_trimmed_cursor_gets_exactly_one_reset_at_the_head(
    backend_factory: BackendFactory,
) -> None:
    async with started(backend_factory, history=100) as broker:
        ids = [await broker.publish("t", str(n)) for n in range(1000)]
        async with broker.subscribe("t", last_event_id=ids[0]) as sub:
            assert sub.replay == "reset"
            items = open_iterator(sub)
            assert await take(items, 1) == [Reset(ids[-1], "trimmed")]
            assert await nothing_more(items)
            assert await live_follows(broker, items)


async def test_a_cursor_further_back_than_max_replay_is_too_far(
    backend_factory: BackendFactory,
) -> None:
    async with started(backend_factory, max_replay=10) as broker:
        ids = [await broker.publish("t", str(n)) for n in range(30)]
        async with broker.subscribe("t", last_event_id=ids[10]) as sub:
            assert await take(open_iterator(sub), 1) == [Reset(ids[-1], "too_far")]
        async with broker.subscribe("t", last_event_id=ids[19]) as sub:
            assert [item.id for item in await take(open_iterator(sub), 10)] == ids[20:]


async def test_a_cursor_of_another_epoch_is_reset(backend_factory: BackendFactory) -> None:
    async with started(backend_factory) as broker:
        head = await broker.publish("t", "x")
        epoch = head.split(".")[0]
        other = "0" * 8 if epoch != "0" * 8 else "1" * 8
        async with broker.subscribe("t", last_event_id=f"{other}.1") as sub:
            assert await take(open_iterator(sub), 1) == [Reset(head, "epoch")]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "12",
        "DEADBEEF.1",
        "deadbeef.-1",
        "deadbeef.1\n",
        "deadbeef." + "9" * 20,
        "x" * 10_000,
        "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9.1",
    ],
)
async def test_a_malformed_or_oversized_cursor_is_reset_as_invalid(
    backend_factory: BackendFactory, cursor: str
) -> None:
    async with started(backend_factory) as broker:
        head = await broker.publish("t", "x")
        async with broker.subscribe("t", last_event_id=cursor) as sub:
            assert sub.replay == "reset"
            items = open_iterator(sub)
            assert await take(items, 1) == [Reset(head, "invalid_id")]
            assert await live_follows(broker, items)


async def test_a_forged_cursor_ahead_of_the_topic_is_invalid(
    backend_factory: BackendFactory,
) -> None:
    async with started(backend_factory) as broker:
        head = await broker.publish("t", "x")
        forged = head.split(".")[0] + ".999"
        async with broker.subscribe("t", last_event_id=forged) as sub:
            assert await take(open_iterator(sub), 1) == [Reset(head, "invalid_id")]


async def test_a_cursor_never_reads_another_topic(backend_factory: BackendFactory) -> None:
    async with started(backend_factory) as broker:
        secret = [await broker.publish("secret", f"s{n}") for n in range(5)]
        await broker.publish("public", "p")
        async with broker.subscribe("public", last_event_id=secret[0]) as sub:
            items = await take(open_iterator(sub), 1)
            assert all(item.topic == "public" for item in items if isinstance(item, Event))
            assert all("s" not in getattr(item, "data", "") for item in items)


async def test_a_lagging_subscriber_is_disconnected(backend_factory: BackendFactory) -> None:
    async with (
        started(backend_factory, history=10) as broker,
        broker.subscribe("t") as slow,
        broker.subscribe("t") as fast,
    ):
        slow_items, fast_items = open_iterator(slow), open_iterator(fast)
        await broker.publish("t", "first")
        assert len(await take(slow_items, 1)) == 1
        for n in range(25):
            await broker.publish("t", str(n))
            await take(fast_items, 1)
        with anyio.fail_after(5), pytest.raises(StopAsyncIteration):
            await anext(slow_items)
        assert slow.lagged
        assert not fast.lagged


async def test_a_lagging_subscriber_is_reset_to_the_head(backend_factory: BackendFactory) -> None:
    async with (
        started(backend_factory, history=10, on_lag="reset") as broker,
        broker.subscribe("t") as slow,
    ):
        items = open_iterator(slow)
        await broker.publish("t", "first")
        await take(items, 1)
        ids = [await broker.publish("t", str(n)) for n in range(25)]
        assert await take(items, 1) == [Reset(ids[-1], "lagged")]
        assert await live_follows(broker, items)


async def test_stalled_subscribers_cost_no_memory_per_event(
    backend_factory: BackendFactory,
) -> None:
    async with started(backend_factory, history=100) as broker:
        subscriptions = [broker.subscribe("t") for _ in range(200)]
        for subscription in subscriptions:
            await subscription.open()
        streams = [open_iterator(sub) for sub in subscriptions]
        await broker.publish("t", "warm-up")
        for stream in streams:
            await take(stream, 1)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for start in range(0, 5000, 50):  # concurrent: over Redis they share round trips
                await asyncio.gather(
                    *(broker.publish("t", f"payload {n}") for n in range(start, start + 50))
                )
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        # A ring of 100 events (and the backend's 100): nothing per subscriber per event.
        assert grown < 200 * 1024, grown
        for stream in streams:
            with anyio.fail_after(5), pytest.raises(StopAsyncIteration):
                await anext(stream)
        assert all(sub.lagged for sub in subscriptions)


async def test_leaving_stops_the_topic_and_leaves_no_task(backend_factory: BackendFactory) -> None:
    async with started(backend_factory) as broker:
        tasks_before = set(asyncio.all_tasks())
        async with broker.subscribe("t") as sub:
            items = open_iterator(sub)
            await broker.publish("t", "x")
            await take(items, 1)
            assert broker.topics == 1
        assert broker.topics == 0
        await asyncio.sleep(0)
        assert set(asyncio.all_tasks()) <= tasks_before


async def test_a_cancelled_reader_leaves_the_topic(backend_factory: BackendFactory) -> None:
    async with started(backend_factory) as broker:

        async def read_forever() -> None:
            async for _ in broker.subscribe("t"):
                pass

        task = asyncio.ensure_future(read_forever())
        with anyio.fail_after(5):
            while broker.topics == 0:
                await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with anyio.fail_after(5):
            while broker.topics:
                await asyncio.sleep(0.001)


async def test_closing_the_broker_ends_every_subscription(backend_factory: BackendFactory) -> None:
    broker = Broker(backend_factory())
    with anyio.fail_after(TIMEOUT):
        await broker.start()
        sub = broker.subscribe("t")
        items = open_iterator(sub)
        reader = asyncio.ensure_future(anext(items))
        while broker.topics == 0:
            await asyncio.sleep(0.001)
        await broker.close()
        with pytest.raises(StopAsyncIteration):
            await reader


async def test_a_subscription_is_a_source_for_the_engine(backend_factory: BackendFactory) -> None:
    async with started(backend_factory) as broker:
        first = await broker.publish("t", "one")
        second = await broker.publish("t", "two\nlines", event="e")
        sub = broker.subscribe("t", last_event_id="bad")
        sent: list[bytes] = []
        done = asyncio.Event()

        async def send(data: bytes) -> None:
            sent.append(data)
            if b"three" in b"".join(sent):
                done.set()

        async def disconnect() -> object:
            await done.wait()
            return {"type": "http.disconnect"}

        await sub.open()  # the handshake done: "three" comes after the head it read
        stream = EventStream(sub, ping=0, sep="\r\n", shutdown=Shutdown())
        running = asyncio.ensure_future(stream.run(send, disconnect))
        third = await broker.publish("t", "three")
        assert await running is Outcome.DISCONNECTED
        body = b"".join(sent)
        assert (
            body
            == (
                f'id: {second}\r\nevent: sse_fast.reset\r\ndata: {{"reason": "invalid_id"}}\r\n\r\n'
                f"id: {third}\r\ndata: three\r\n\r\n"
            ).encode()
        )
        assert first not in body.decode()
        # The departed stream's source was closed while cancelled: the topic is let go
        # by the hub's own task, within a few turns of the loop.
        with anyio.fail_after(2):
            while broker.topics:
                await asyncio.sleep(0)


@pytest.mark.parametrize("topic", ["", "a b", "{tag}", "x*", "q?", "[a]", "t\n", "é", "a" * 201])
async def test_invalid_topics_are_refused(backend_factory: BackendFactory, topic: str) -> None:
    async with started(backend_factory) as broker:
        with pytest.raises(ValueError, match="topic must be"):
            await broker.publish(topic, "x")
        with pytest.raises(ValueError, match="topic must be"):
            broker.subscribe(topic)


async def test_bad_publish_input_is_refused_with_the_field_named(
    backend_factory: BackendFactory,
) -> None:
    async with started(backend_factory, max_event_bytes=10) as broker:
        with pytest.raises(TypeError, match="topic must be str"):
            await broker.publish(1, "x")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="event must be"):
            await broker.publish("t", "x", event="a\nb")
        with pytest.raises(TypeError, match="data must be str or bytes"):
            await broker.publish("t", 5)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="data must be UTF-8"):
            await broker.publish("t", b"\xff")
        with pytest.raises(ValueError, match="max_event_bytes=10"):
            await broker.publish("t", "x" * 11)
        with pytest.raises(TypeError, match="last_event_id must be str"):
            broker.subscribe("t", last_event_id=5)  # type: ignore[arg-type]


async def test_publish_sync_from_another_thread(backend_factory: BackendFactory) -> None:
    async with started(backend_factory) as broker, broker.subscribe("t") as sub:
        items = open_iterator(sub)
        ids: list[str] = []
        thread = threading.Thread(target=lambda: ids.append(broker.publish_sync("t", "sync")))
        thread.start()
        [event] = await take(items, 1)
        await anyio.to_thread.run_sync(thread.join)
        assert event == Event(ids[0], "t", None, "sync")


async def test_publish_sync_on_the_loop_is_refused() -> None:
    async with Broker() as broker:
        with pytest.raises(RuntimeError, match=r"await broker\.publish"):
            broker.publish_sync("t", "x")


async def test_a_broker_that_is_not_started_refuses_to_publish() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        await Broker().publish("t", "x")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"history": 0}, "history must be an int >= 1"),
        ({"max_replay": -1}, "max_replay must be an int >= 0"),
        ({"on_lag": "drop"}, "on_lag must be 'disconnect' or 'reset'"),
        ({"reset_event": "a\nb"}, "reset_event must be"),
        ({"max_event_bytes": 0}, "max_event_bytes must be"),
        ({"max_subscribers": 0}, "max_subscribers must be an int >= 1, got 0"),
        ({"max_subscribers": True}, "max_subscribers must be an int >= 1, got True"),
        ({"max_subscribers": 2.0}, "max_subscribers must be an int >= 1, got 2.0"),
    ],
)
def test_bad_broker_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Broker(**options)


def test_memory_options_with_another_backend_are_refused(backend_factory: BackendFactory) -> None:
    with pytest.raises(TypeError, match="history_ttl and max_topics"):
        Broker(backend_factory(), history_ttl=10)


async def test_max_subscribers_refuses_one_more_until_one_leaves(
    backend_factory: BackendFactory,
) -> None:
    async with started(backend_factory, max_subscribers=2) as broker:
        first = await broker.subscribe("a").__aenter__()
        second = await broker.subscribe("b").__aenter__()  # the cap is per process
        assert broker.subscribers == 2
        refused = broker.subscribe("a")
        with pytest.raises(TooManySubscribers, match="max_subscribers=2"):
            await refused.open()
        with pytest.raises(TooManySubscribers):
            await anext(aiter(broker.subscribe("a")))  # iterating opens it too
        assert broker.subscribers == 2
        await first.close()
        await first.close()  # closing twice frees one place, once
        assert broker.subscribers == 1
        async with broker.subscribe("a", last_event_id="00000000.1") as third:
            assert third.replay == "reset"
            assert broker.subscribers == 2
        await second.close()
        assert broker.subscribers == 0


async def test_concurrent_opens_never_pass_max_subscribers(
    backend_factory: BackendFactory,
) -> None:
    async with started(backend_factory, max_subscribers=3) as broker:
        subscriptions = [broker.subscribe("t") for _ in range(10)]
        results = await asyncio.gather(
            *(subscription.open() for subscription in subscriptions), return_exceptions=True
        )
        refused = [result for result in results if isinstance(result, TooManySubscribers)]
        assert (len(refused), broker.subscribers) == (7, 3)
        for subscription in subscriptions:
            await subscription.close()
        assert broker.subscribers == 0


async def test_a_broker_that_is_not_started_refuses_to_subscribe() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        await Broker().subscribe("t").open()


async def test_closing_the_broker_lets_open_streams_leave_before_the_backend_closes() -> None:
    calls: list[str] = []

    class RecordingBackend(MemoryBackend):
        async def unwatch(self, topic: str) -> None:
            calls.append("unwatch")
            await super().unwatch(topic)

        async def close(self) -> None:
            calls.append("close")
            await super().close()

    broker = Broker(RecordingBackend())
    with anyio.fail_after(TIMEOUT):
        await broker.start()
        left = asyncio.Event()

        async def disconnect() -> object:
            await left.wait()
            return {"type": "http.disconnect"}

        async def send(data: bytes) -> None:
            pass

        stream = EventStream(broker.subscribe("t"), ping=0, shutdown=Shutdown())
        running = asyncio.ensure_future(stream.run(send, disconnect))
        while broker.topics == 0:
            await asyncio.sleep(0.001)
        await broker.close()
        assert calls == ["unwatch", "close"]
        assert await running is Outcome.COMPLETED
