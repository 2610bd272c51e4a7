"""EventQueue, the push source: write-through, coalescing, bounds, and its end."""

from __future__ import annotations

import asyncio
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
