"""StartedStream: a started EventQueue stream runs itself to its end, in one task made then."""

from __future__ import annotations

import asyncio

import pytest
from test_stream import Transport

from sse_fast import EventQueue, ServerSentEvent
from sse_fast.stream import Outcome, SendTimeoutError, Shutdown, StartedStream

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(10)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # start() streams without a task: asyncio only


class Ended(Transport):
    """Records the writes and the one that ended the body."""

    def __init__(self, *, stall: bool = False) -> None:
        super().__init__(stall=stall)
        self.ended_with: bytes | None = None

    async def end(self, data: bytes) -> None:
        self.ended_with = data


class Recording(StartedStream):
    __slots__ = ("timeouts",)
    timeouts: int

    def send_timed_out(self) -> None:
        self.timeouts += 1


async def body_ended(transport: Ended) -> None:
    """Wait until the body has ended with no one awaiting the stream."""
    while transport.ended_with is None:
        await asyncio.sleep(0.005)


def started(transport: Ended, **options: object) -> tuple[EventQueue, Recording]:
    queue = EventQueue()
    stream = Recording(queue, ping=0, shutdown=options.pop("shutdown", Shutdown()), **options)
    stream.timeouts = 0
    stream.start(transport.send, end=transport.end)
    return queue, stream


async def test_closing_the_queue_runs_the_stream_to_the_end_of_the_body() -> None:
    tasks = asyncio.all_tasks()
    transport = Ended()
    queue, stream = started(transport)
    await queue.put("a")
    assert asyncio.all_tasks() == tasks  # open and idle: no task of its own
    queue.put_nowait("b")
    queue.close()
    await asyncio.wait_for(body_ended(transport), 5)
    assert await stream.run_to_end() is Outcome.COMPLETED
    assert transport.ended_with is not None
    assert transport.body + transport.ended_with == b"data: a\n\ndata: b\n\n"
    assert stream.run_to_end() is stream.run_to_end()  # one task, made once


async def test_a_send_timeout_calls_the_hook_once_and_ends_the_stream() -> None:
    transport = Ended(stall=True)
    queue, stream = started(transport, send_timeout=0.05)
    with pytest.raises(SendTimeoutError):
        await asyncio.wait_for(queue.put("stuck"), 5)
    assert stream.timeouts == 1
    assert await asyncio.wait_for(stream.run_to_end(), 5) is None  # no error: it was told
    assert stream.timeouts == 1
    assert transport.ended_with is None  # nothing follows a stalled write
    with pytest.raises(SendTimeoutError):
        await queue.put("later")


async def test_the_end_of_the_grace_period_sends_the_farewell_with_no_caller() -> None:
    transport = Ended()
    shutdown = Shutdown()
    queue, stream = started(
        transport, shutdown=shutdown, shutdown_grace_period=0.05, farewell=ServerSentEvent("bye")
    )
    await queue.put("a")
    shutdown.trigger()
    await asyncio.wait_for(body_ended(transport), 5)
    assert await stream.run_to_end() is Outcome.SHUTDOWN
    assert transport.ended_with == b"data: bye\n\n"
    assert stream.timeouts == 0


async def test_a_departure_ends_the_stream_and_later_puts_say_so() -> None:
    transport = Ended()
    queue, stream = started(transport)
    stream.client_left()
    assert await asyncio.wait_for(stream.run_to_end(), 5) is Outcome.DISCONNECTED
    assert transport.ended_with is None
    with pytest.raises(ConnectionResetError):
        await queue.put("x")


async def test_run_to_end_needs_a_started_stream() -> None:
    stream = StartedStream(["a"], ping=0, shutdown=Shutdown())
    with pytest.raises(RuntimeError, match="start"):
        stream.run_to_end()
    transport = Ended()
    assert await stream.run(transport.send, end=transport.end) is Outcome.COMPLETED
    assert transport.ended_with == b"data: a\n\n"
