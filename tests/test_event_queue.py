"""EventQueue, the push source: write-through, coalescing, bounds, and its end."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

import anyio
import pytest
from test_stream import Transport

import sse_fast
from sse_fast import EventQueue
from sse_fast.stream import EventStream, Outcome, SendTimeoutError, Shutdown

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Gated(Transport):
    """A transport whose writes wait for ``release`` when ``hold`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = False
        self.release = anyio.Event()
        self.in_write = anyio.Event()

    async def send(self, data: bytes) -> None:
        if self.hold:
            self.in_write.set()
            await self.release.wait()
        await super().send(data)


async def start_a_held_write(queue: EventQueue, transport: Gated, group: Any) -> None:
    """Put "first" and return once its write is in flight, held by the transport."""
    transport.hold = True
    group.start_soon(queue.put, "first")
    await transport.in_write.wait()


async def stream_queue(
    queue: EventQueue, transport: Transport, producer: Any, **options: Any
) -> Outcome:
    outcome: Outcome | None = None

    async def consume() -> None:
        nonlocal outcome
        outcome = await EventStream(queue, ping=0, shutdown=Shutdown(), **options).run(
            transport.send, transport.wait_disconnect
        )

    async with anyio.create_task_group() as group:
        group.start_soon(consume)
        await anyio.sleep(0.01)
        await producer()
    assert outcome is not None
    return outcome


async def test_put_on_an_idle_stream_writes_before_it_returns() -> None:
    queue, transport = EventQueue(), Transport()

    async def produce() -> None:
        await queue.put("one")
        assert transport.body == b"data: one\n\n"  # written in put()'s own task
        await anyio.sleep(0.01)
        await queue.put({"data": "two", "id": "2"})
        assert transport.body == b"data: one\n\nid: 2\ndata: two\n\n"
        queue.close()

    assert await stream_queue(queue, transport, produce) is Outcome.COMPLETED
    assert len(transport.writes) == 2


async def test_one_put_per_turn_of_the_loop_is_written_by_its_own_put() -> None:
    queue, transport = EventQueue(), Transport()

    async def produce() -> None:
        for n in range(20):
            await queue.put(str(n))
            assert transport.body.endswith(sse_fast.encode(str(n)))  # not held for a tick
            await anyio.sleep(0)
        queue.close()

    await stream_queue(queue, transport, produce)
    assert len(transport.writes) == 20


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # trio's turns are not counted
async def test_many_puts_in_one_turn_of_the_loop_leave_in_a_few_writes() -> None:
    queue, transport = EventQueue(), Transport()

    async def produce() -> None:
        for n in range(200):  # the transport never suspends: all in one turn
            await queue.put(str(n))
        queue.close()

    await stream_queue(queue, transport, produce)
    assert transport.body == b"".join(sse_fast.encode(str(n)) for n in range(200))
    assert len(transport.writes) <= 8  # a few written through, then the rest together


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_puts_in_bursts_leave_in_about_two_writes_a_burst() -> None:
    queue, transport = EventQueue(), Transport()

    async def produce() -> None:
        for burst in range(5):
            for n in range(40):
                await queue.put(f"{burst}.{n}")
            await anyio.sleep(0)
        queue.close()

    await stream_queue(queue, transport, produce)
    expected = [f"{burst}.{n}" for burst in range(5) for n in range(40)]
    assert transport.body == b"".join(sse_fast.encode(data) for data in expected)
    assert len(transport.writes) <= 12  # the first put of a burst, then the rest together


async def test_items_put_during_a_write_leave_together_in_the_next() -> None:
    queue, transport = EventQueue(), Gated()

    async def produce() -> None:
        async with anyio.create_task_group() as group:
            await start_a_held_write(queue, transport, group)
            for n in range(10):
                await queue.put(str(n))  # the writer is busy: these wait in the batch
            transport.hold = False
            transport.release.set()
        queue.close()

    await stream_queue(queue, transport, produce)
    assert transport.writes[0] == b"data: first\n\n"
    assert b"".join(transport.writes[1:]) == b"".join(sse_fast.encode(str(n)) for n in range(10))
    assert len(transport.writes) == 2


async def test_put_nowait_raises_queue_full_past_maxsize() -> None:
    queue, transport = EventQueue(maxsize=3), Gated()

    async def produce() -> None:
        async with anyio.create_task_group() as group:
            await start_a_held_write(queue, transport, group)
            for n in range(3):
                queue.put_nowait(str(n))
            with pytest.raises(asyncio.QueueFull, match="EventQueue is full"):
                queue.put_nowait("too many")
            transport.release.set()
        queue.close()

    await stream_queue(queue, transport, produce)
    assert b"too many" not in transport.body
    assert transport.body.count(b"data: ") == 4


async def test_put_waits_for_room_while_maxsize_items_are_unsent() -> None:
    queue, transport = EventQueue(maxsize=2), Gated()
    put_done = anyio.Event()

    async def produce() -> None:
        async with anyio.create_task_group() as group:
            await start_a_held_write(queue, transport, group)
            await queue.put("a")
            await queue.put("b")

            async def third() -> None:
                await queue.put("c")
                put_done.set()

            group.start_soon(third)
            await anyio.sleep(0.05)
            assert not put_done.is_set()  # backpressure: the writer has not taken a, b
            transport.release.set()
        queue.close()

    await stream_queue(queue, transport, produce)
    assert put_done.is_set()
    assert transport.body == b"data: first\n\ndata: a\n\ndata: b\n\ndata: c\n\n"


async def test_put_nowait_from_sync_code_is_written_by_the_stream() -> None:
    queue, transport = EventQueue(), Transport()

    async def produce() -> None:
        queue.put_nowait("from a callback")
        queue.close()

    assert await stream_queue(queue, transport, produce) is Outcome.COMPLETED
    assert transport.body == b"data: from a callback\n\n"


async def test_items_put_before_the_stream_starts_are_sent_first() -> None:
    queue, transport = EventQueue(), Transport()
    await queue.put("early")

    async def produce() -> None:
        await queue.put("late")
        queue.close()

    await stream_queue(queue, transport, produce)
    assert transport.body == b"data: early\n\ndata: late\n\n"


async def test_a_bad_item_raises_from_put_and_the_stream_goes_on() -> None:
    queue, transport = EventQueue(), Transport()

    async def produce() -> None:
        with pytest.raises(TypeError, match="cannot stream int"):
            await queue.put(42)
        with pytest.raises(ValueError, match="id must not contain"):
            await queue.put({"data": "x", "id": "a\nb"})
        await queue.put("fine")
        queue.close()

    assert await stream_queue(queue, transport, produce) is Outcome.COMPLETED
    assert transport.body == b"data: fine\n\n"


async def test_put_after_the_client_left_raises_connection_reset() -> None:
    queue, transport = EventQueue(), Transport()

    async def produce() -> None:
        await queue.put("hello")
        transport.left.set()
        await anyio.sleep(0.05)
        with pytest.raises(ConnectionResetError, match="disconnected"):
            await queue.put("nobody listens")
        with pytest.raises(ConnectionResetError):
            queue.put_nowait("nobody listens")

    assert await stream_queue(queue, transport, produce) is Outcome.DISCONNECTED


async def test_a_put_held_in_its_write_raises_connection_reset_when_the_client_leaves(
    anyio_backend: str,
) -> None:
    queue, transport = EventQueue(), Gated()
    raised: list[BaseException] = []

    async def put_first() -> None:
        transport.hold = True
        try:
            await queue.put("first")  # written in this task, and held there
        except BaseException as exc:
            raised.append(exc)
        if anyio_backend == "asyncio" and sys.version_info >= (3, 11):
            task = asyncio.current_task()
            assert task is not None
            assert task.cancelling() == 0  # the stream took its cancellation back

    async def produce() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(put_first)
            await transport.in_write.wait()
            transport.left.set()

    assert await stream_queue(queue, transport, produce) is Outcome.DISCONNECTED
    assert [type(exc) for exc in raised] == [ConnectionResetError]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_cancelling_a_put_held_in_its_write_raises_cancelled_error() -> None:
    queue, transport = EventQueue(), Gated()

    async def produce() -> None:
        transport.hold = True
        putter = asyncio.ensure_future(queue.put("first"))
        await transport.in_write.wait()
        putter.cancel()  # the caller's own cancellation, not the stream's end
        with pytest.raises(asyncio.CancelledError):
            await putter
        transport.hold = False
        transport.release.set()
        await queue.put("second")  # the stream goes on
        queue.close()

    assert await stream_queue(queue, transport, produce) is Outcome.COMPLETED
    assert transport.body == b"data: second\n\n"


async def test_put_after_a_send_timeout_raises_send_timeout_error() -> None:
    queue, transport = EventQueue(), Transport(stall=True)
    errors: list[BaseException] = []

    async def consume() -> None:
        try:
            await EventStream(queue, ping=0, shutdown=Shutdown(), send_timeout=0.1).run(
                transport.send, transport.wait_disconnect
            )
        except SendTimeoutError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(consume)
        await anyio.sleep(0.01)
        with pytest.raises((SendTimeoutError, anyio.get_cancelled_exc_class())):
            await queue.put("stalls")
        await anyio.sleep(0.2)
        with pytest.raises(SendTimeoutError):
            await queue.put("after")
    assert len(errors) == 1


class Framed:
    """An object framed by its type's ``__sse_frame__`` (as the broker's events are)."""

    calls = 0

    def __sse_frame__(self, sep: str) -> bytes:
        Framed.calls += 1
        return f"event: framed{sep}data: once{sep}{sep}".encode()


async def test_objects_with_sse_frame_are_framed_by_their_type() -> None:
    queue, transport = EventQueue(), Transport()

    async def produce() -> None:
        await queue.put(Framed())
        await queue.put([Framed(), "x"])
        queue.close()

    await stream_queue(queue, transport, produce, sep="\r\n")
    assert transport.body == (b"event: framed\r\ndata: once\r\n\r\n" * 2 + b"data: x\r\n\r\n")


async def test_a_queue_without_a_stream_is_an_async_iterable() -> None:
    queue = EventQueue(maxsize=2)
    await queue.put("a")
    queue.put_nowait("b")
    with pytest.raises(asyncio.QueueFull):
        queue.put_nowait("c")
    queue.close()
    with pytest.raises(RuntimeError, match="closed"):
        await queue.put("d")
    assert [item async for item in queue] == ["a", "b"]


@pytest.mark.parametrize("maxsize", [0, -1, 1.5, True])
async def test_bad_maxsize_is_rejected(maxsize: Any) -> None:
    with pytest.raises(ValueError, match="maxsize"):
        EventQueue(maxsize=maxsize)


async def test_without_a_stream_a_reader_waits_for_items_and_a_writer_for_room() -> None:
    queue = EventQueue(maxsize=1)
    await queue.put("a")
    read: list[Any] = []
    second_put = anyio.Event()

    async def put_second() -> None:
        await queue.put("b")
        second_put.set()

    async def read_all() -> None:
        with contextlib.suppress(StopAsyncIteration):
            while True:  # item by item: the test looks at what was read so far
                read.append(await anext(queue))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(put_second)
            await anyio.sleep(0.01)
            assert not second_put.is_set()  # full: put() waits for the reader
            group.start_soon(read_all)
            await second_put.wait()
            await anyio.sleep(0.01)
            assert read == ["a", "b"]  # the reader now waits for a third
            queue.close()
            queue.close()  # a second close() changes nothing
    assert read == ["a", "b"]


async def test_a_put_waiting_for_room_goes_to_the_stream_that_takes_over() -> None:
    queue, transport = EventQueue(maxsize=1), Transport()
    await queue.put("early")
    waiting_put_done = anyio.Event()

    async def put_while_full() -> None:
        await queue.put("waited")
        waiting_put_done.set()

    async def produce() -> None:
        await waiting_put_done.wait()
        queue.close()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(put_while_full)
            await anyio.sleep(0.01)
            assert not waiting_put_done.is_set()
            await stream_queue(queue, transport, produce)
    assert transport.body == b"data: early\n\ndata: waited\n\n"


async def test_a_second_stream_of_a_streamed_queue_is_refused_and_the_first_goes_on() -> None:
    queue, transport, other = EventQueue(), Transport(), Transport()

    async def produce() -> None:
        await queue.put("one")
        second = EventStream(queue, ping=0, shutdown=Shutdown())
        with pytest.raises(RuntimeError, match="already streamed by another response"):
            await second.run(other.send, other.wait_disconnect)
        await queue.put("two")  # the first stream still owns the queue
        queue.close()

    assert await stream_queue(queue, transport, produce) is Outcome.COMPLETED
    assert transport.body == b"data: one\n\ndata: two\n\n"
    assert other.body == b""
