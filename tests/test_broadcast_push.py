"""The push path: the delivering task writes each event through every idle stream.

A subscription streamed by the engine waits at the topic's head; the hub then sends
the next event's frame through its stream itself, in the task that delivers the event
(the publisher's with the memory backend, the reader's with Redis). A stream that
cannot take it now (a send under way, items waiting) gets the event from its own task
instead, after what it already has, and one stalled behind the ring is cut off.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from broker_backends import BackendFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from sse_fast._engine.push import _Resumed
from sse_fast.broadcast import Broker, MemoryBackend, Subscription
from sse_fast.stream import EventStream, Outcome, Shutdown

pytestmark = pytest.mark.anyio
TIMEOUT = 10


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the hub is built on asyncio


class Client:
    """One streamed subscription and what its transport was sent, by which task.

    ``hold()`` makes the next sends wait until ``release()``; ``leave()`` disconnects.
    """

    def __init__(self, broker: Broker, topic: str = "t", **options: Any) -> None:
        self.broker = broker
        self.subscription = broker.subscribe(topic)
        self.stream = EventStream(self.subscription, ping=0, shutdown=Shutdown(), **options)
        self.sent: list[bytes] = []
        self.senders: list[asyncio.Task[Any] | None] = []
        self.gate: asyncio.Event | None = None
        self.left = asyncio.Event()
        self.running: asyncio.Future[Outcome] | None = None

    async def send(self, data: bytes) -> None:
        self.senders.append(asyncio.current_task())
        gate = self.gate
        if gate is not None:
            await gate.wait()
        self.sent.append(data)

    async def disconnect(self) -> object:
        await self.left.wait()
        return {"type": "http.disconnect"}

    async def start(self) -> None:
        await self.subscription.open()
        self.running = asyncio.ensure_future(self.stream.run(self.send, self.disconnect))

    def hold(self) -> None:
        if self.gate is None:
            self.gate = asyncio.Event()

    def release(self) -> None:
        if self.gate is not None:
            self.gate.set()
            self.gate = None

    def ids(self) -> list[str]:
        body = b"".join(self.sent).decode()
        return re.findall(r"^id: (\S+)$", body, flags=re.MULTILINE)

    def resets(self) -> list[str]:
        return re.findall(r'"reason": "(\w+)"', b"".join(self.sent).decode())


@asynccontextmanager
async def broker_with(
    backend_factory: BackendFactory | None = None, *, history: int = 1000, **options: Any
) -> AsyncIterator[Broker]:
    factory = MemoryBackend if backend_factory is None else backend_factory
    backend = factory(history=history)
    with anyio.fail_after(TIMEOUT):
        async with Broker(backend, history=history, **options) as broker:
            yield broker


def pushers(broker: Broker, topic: str = "t") -> set[Subscription]:
    ring = broker._hub.rings.get(topic)
    return set() if ring is None else set(ring.pushers)


async def waiting_at_head(broker: Broker, *clients: Client) -> None:
    """Until every client's stream waits in its subscription for the next event."""
    with anyio.fail_after(5):
        while not {client.subscription for client in clients} <= pushers(broker):
            await asyncio.sleep(0)


async def started(broker: Broker, count: int, **options: Any) -> list[Client]:
    clients = [Client(broker, **options) for _ in range(count)]
    for client in clients:
        await client.start()
    await waiting_at_head(broker, *clients)
    return clients


async def until(condition: Any) -> None:
    with anyio.fail_after(5):
        while not condition():
            await asyncio.sleep(0.001)


async def test_a_publish_writes_to_every_waiting_stream_before_it_returns() -> None:
    async with broker_with() as broker:
        clients = await started(broker, 3)
        event_id = await broker.publish("t", "hello")
        for client in clients:  # no turn of the loop since: written by the publish itself
            assert client.ids() == [event_id]
            assert client.senders == [asyncio.current_task()]
        for client in clients:
            client.left.set()
            assert await asyncio.wait_for(client.running, 5) is Outcome.DISCONNECTED  # type: ignore[arg-type]


async def test_the_delivering_task_sends_every_event_in_order_over_every_backend(
    backend_factory: BackendFactory,
) -> None:
    async with broker_with(backend_factory) as broker:
        clients = await started(broker, 3)
        ids = [await broker.publish("t", f"e{n}") for n in range(20)]
        await until(lambda: all(len(client.ids()) == len(ids) for client in clients))
        for client in clients:
            assert client.ids() == ids
            # Pushed by the publisher (memory) or the Redis reader: never the stream's task.
            assert client.running not in client.senders
        for client in clients:
            client.left.set()
        await until(lambda: broker.topics == 0)


async def test_a_send_that_waits_holds_up_no_other_stream_and_its_events_follow_in_order() -> None:
    async with broker_with() as broker:
        slow, *fast = await started(broker, 3)
        slow.hold()
        ids = []
        for n in range(5):
            ids.append(await broker.publish("t", f"e{n}"))
            for client in fast:
                assert client.ids() == ids  # written during that publish
            await asyncio.sleep(0)
        assert slow.ids() == []
        slow.release()
        await until(lambda: slow.ids() == ids)
        # Caught up and waiting at the head again: the next event is pushed to it too.
        await waiting_at_head(broker, slow)
        ids.append(await broker.publish("t", "after"))
        assert slow.ids() == ids
        assert slow.senders[-1] is asyncio.current_task()


async def test_a_stream_stopped_before_its_waiting_send_goes_on_ends_at_once() -> None:
    async with broker_with() as broker:
        (client,) = await started(broker, 1)
        client.hold()
        await broker.publish("t", "x")  # the send waits: the stream's flusher takes it over
        assert client.stream.writing
        client.stream.stop()  # before that task first ran: its cancellation reaches the send
        assert await asyncio.wait_for(client.running, 5) is Outcome.SHUTDOWN  # type: ignore[arg-type]
        assert not client.stream.writing
        assert client.sent == []


async def test_a_send_taken_over_by_a_task_resumes_where_it_stopped() -> None:
    waited: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    steps: list[str] = []

    async def send() -> None:
        steps.append("started")
        try:
            steps.append(await waited)
        finally:
            steps.append("ended")

    def suspended() -> _Resumed:
        coroutine = send()
        return _Resumed(coroutine, coroutine.send(None))

    awaited = suspended()
    waited.set_result("resumed")
    await awaited  # awaited directly, or run by a task: the same coroutine goes on
    assert steps == ["started", "resumed", "ended"]
    steps.clear()
    waited = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(suspended())
    task.cancel()  # before the task first ran: the send itself is cancelled
    with pytest.raises(asyncio.CancelledError):
        await task
    assert steps == ["started", "ended"]
    steps.clear()
    waited = asyncio.get_running_loop().create_future()
    suspended().close()
    assert steps == ["started", "ended"]


async def test_a_convert_that_fails_fails_its_stream_not_the_publish() -> None:
    def convert(item: object) -> object:
        raise ValueError("no events here")

    async with broker_with() as broker:
        failing, plain = Client(broker), Client(broker)
        failing.stream = EventStream(
            failing.subscription, ping=0, shutdown=Shutdown(), convert=convert
        )
        for client in (failing, plain):
            await client.start()
        await waiting_at_head(broker, failing, plain)
        event_id = await broker.publish("t", "x")
        assert plain.ids() == [event_id]
        with pytest.raises(ValueError, match="no events here"):
            await asyncio.wait_for(failing.running, 5)  # type: ignore[arg-type]


async def test_a_burst_in_one_turn_reaches_pushed_and_held_streams_once_in_order() -> None:
    async with broker_with() as broker:
        held, free = await started(broker, 2)
        held.hold()
        ids = [await broker.publish("t", f"e{n}") for n in range(50)]  # no turn between
        assert free.ids() == ids
        await asyncio.sleep(0.01)
        held.release()
        await until(lambda: len(held.ids()) >= len(ids))
        assert held.ids() == ids


async def test_plain_iteration_and_streams_share_a_topic() -> None:
    async with broker_with() as broker:
        clients = await started(broker, 2)
        read: list[str] = []

        async def iterate() -> None:
            async for item in broker.subscribe("t"):
                read.append(item.id)
                if len(read) == 10:
                    return

        reader = asyncio.ensure_future(iterate())
        while broker._hub.rings["t"].users < 3:
            await asyncio.sleep(0)
        ids = [await broker.publish("t", f"e{n}") for n in range(10)]
        await asyncio.wait_for(reader, 5)
        assert read == ids
        for client in clients:
            assert client.ids() == ids


@pytest.mark.parametrize("turns", [0, 1], ids=["one-turn", "a-turn-each"])
async def test_a_stream_stalled_behind_the_ring_is_cut_off_and_the_others_go_on(
    turns: int,
) -> None:
    # In one turn the subscription finds it lagged when it next runs; with turns between
    # publishes its stream's batch fills first and the hub cuts it off.
    async with broker_with(history=4) as broker:
        stalled, *others = await started(broker, 3)
        stalled.hold()
        big = "x" * 20000  # a few fill the stream's batch: its reader stops taking events
        ids = []
        for _ in range(30):
            ids.append(await broker.publish("t", big))
            for _ in range(turns):
                await asyncio.sleep(0)
        assert await asyncio.wait_for(stalled.running, 5) is Outcome.SHUTDOWN  # type: ignore[arg-type]
        assert stalled.subscription.lagged
        for client in others:
            assert client.ids() == ids
        assert broker._hub.rings["t"].users == 2


async def test_with_on_lag_reset_a_stalled_stream_gets_one_reset_when_it_resumes() -> None:
    async with broker_with(history=4, on_lag="reset") as broker:
        (stalled,) = await started(broker, 1)
        stalled.hold()
        ids = [await broker.publish("t", "x" * 20000) for _ in range(30)]
        await asyncio.sleep(0.01)
        assert not stalled.running.done()  # type: ignore[union-attr]
        stalled.release()
        await until(lambda: stalled.resets() == ["lagged"])
        got = stalled.ids()
        reset_at = got.index(ids[-1])  # the Reset carries the head's id
        assert got[:reset_at] == ids[:reset_at]  # what it had, in order, then the Reset
        await waiting_at_head(broker, stalled)
        live = await broker.publish("t", "live")
        assert stalled.ids() == [*got, live]


async def test_departed_and_closed_streams_leave_no_pusher_behind() -> None:
    async with broker_with() as broker:
        gone, *staying = await started(broker, 3)
        gone.left.set()
        assert await asyncio.wait_for(gone.running, 5) is Outcome.DISCONNECTED  # type: ignore[arg-type]
        await until(lambda: pushers(broker) == {client.subscription for client in staying})
        event_id = await broker.publish("t", "after")
        assert gone.ids() == []
        await broker.close()
        for client in staying:
            assert client.ids() == [event_id]
            assert await asyncio.wait_for(client.running, 5) is Outcome.COMPLETED  # type: ignore[arg-type]
        assert not broker._hub.tasks
        assert broker.topics == 0


# ------------------------------------------------- any interleaving of pushes and reads

Step = tuple[str, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("publish"), st.integers(1, 5)),
        st.tuples(st.sampled_from(["hold", "release"]), st.integers(0, 2)),
        st.tuples(st.just("turn"), st.integers(1, 3)),
    ),
    max_size=30,
)


async def interleaved(plan: list[Step]) -> tuple[list[str], list[list[str]]]:
    async with broker_with(history=1000) as broker:
        clients = await started(broker, 3)
        ids: list[str] = []
        for action, value in plan:
            if action == "publish":
                ids += [await broker.publish("t", f"e{len(ids)}") for _ in range(value)]
            elif action == "hold":
                clients[value].hold()
            elif action == "release":
                clients[value].release()
            else:
                for _ in range(value):
                    await asyncio.sleep(0)
        for client in clients:
            client.release()
        await until(lambda: all(len(client.ids()) >= len(ids) for client in clients))
        await asyncio.sleep(0.01)  # nothing more comes
        return ids, [client.ids() for client in clients]


@settings(max_examples=60, deadline=None)
@given(steps)
def test_any_interleaving_of_pushes_held_sends_and_turns_gives_every_event_once_in_order(
    plan: list[Step],
) -> None:
    ids, received = asyncio.run(interleaved(plan))
    for got in received:
        assert got == ids
