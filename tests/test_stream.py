"""The streaming engine on an in-memory transport: pacing, pings, timeouts, shutdown.

Deadline arithmetic is tested on a fake clock in test_clock.py; the few timing tests
here have generous bounds.

The same behaviour is checked end to end, under real servers, in test_asgi_server.py.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

import sse_fast
from sse_fast._engine.batch import MAX_EVENTS
from sse_fast.stream import (
    EventStream,
    Outcome,
    SendTimeoutError,
    Shutdown,
    current_shutdown,
    drain_on_signals,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Transport:
    """Records every write; ``leave()`` makes the client go away."""

    def __init__(self, *, stall: bool = False) -> None:
        self.writes: list[bytes] = []
        self.stall = stall
        self.left = anyio.Event()

    async def send(self, data: bytes) -> None:
        if self.stall:
            await anyio.sleep_forever()
        self.writes.append(data)

    async def wait_disconnect(self) -> object:
        await self.left.wait()
        return {"type": "http.disconnect"}

    @property
    def body(self) -> bytes:
        return b"".join(self.writes)


async def run(
    source: Any, transport: Transport | None = None, **options: Any
) -> tuple[Outcome, Transport]:
    transport = transport or Transport()
    options.setdefault("shutdown", Shutdown())
    options.setdefault("ping", 0)
    outcome = await EventStream(source, **options).run(transport.send, transport.wait_disconnect)
    return outcome, transport


async def test_every_item_kind_is_framed_in_order() -> None:
    items = [
        sse_fast.ServerSentEvent("a", id="1"),
        "b",
        {"data": "c", "event": "e"},
        b"data: raw\n\n",
        ["d", {"comment": "x"}],
    ]
    outcome, transport = await run(items)
    assert outcome is Outcome.COMPLETED
    assert (
        transport.body
        == b"id: 1\ndata: a\n\ndata: b\n\nevent: e\ndata: c\n\ndata: raw\n\ndata: d\n\n: x\n\n"
    )


@pytest.fixture
def no_slow_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps of the source count as fast whatever the machine's load (a preempted step
    would otherwise count as a pause and be written alone)."""
    monkeypatch.setattr("sse_fast._engine.pump.SLOW_STEP", 60.0)


@pytest.mark.usefixtures("no_slow_steps")
async def test_events_available_at_once_leave_in_one_write_after_the_first() -> None:
    async def burst() -> AsyncIterator[str]:
        for n in range(64):
            yield str(n)  # no await between events: all are ready together

    _, transport = await run(burst())
    assert transport.writes[0] == b"data: 0\n\n"  # the stream's first event leaves at once
    assert len(transport.writes) == 2
    assert transport.body == b"".join(sse_fast.encode(str(n)) for n in range(64))


async def test_a_list_yielded_at_once_leaves_in_one_write() -> None:
    async def batches() -> AsyncIterator[list[str]]:
        yield ["a", "b", "c"]
        await anyio.sleep(0.01)
        yield ["d"]

    _, transport = await run(batches())
    assert transport.writes == [b"data: a\n\ndata: b\n\ndata: c\n\n", b"data: d\n\n"]


async def test_events_spaced_in_time_are_not_held_back() -> None:
    arrivals: list[float] = []

    class Clocked(Transport):
        async def send(self, data: bytes) -> None:
            arrivals.append(time.monotonic())
            await super().send(data)

    async def slow() -> AsyncIterator[str]:
        for n in range(3):
            yield str(n)
            await anyio.sleep(0.05)

    await run(slow(), Clocked())
    assert len(arrivals) == 3
    assert arrivals[2] - arrivals[0] >= 0.08


async def test_big_bursts_are_cut_into_bounded_writes() -> None:
    _, transport = await run(["x"] * 5000)
    assert transport.body == b"data: x\n\n" * 5000
    frame = len(b"data: x\n\n")
    # Every write holds at most MAX_EVENTS events, and the burst needs no more writes
    # than those bounds make necessary (plus the end of the body).
    assert max(len(write) for write in transport.writes) <= MAX_EVENTS * frame
    assert len(transport.writes) <= -(-5000 // MAX_EVENTS) + 1


async def test_sync_generator_runs_in_a_thread() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.01)
            ticks += 1

    def blocking() -> Iterator[str]:
        for n in range(3):
            time.sleep(0.05)  # would freeze the event loop if run on it
            yield str(n)

    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        _, transport = await run(blocking())
        group.cancel_scope.cancel()
    assert transport.body == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
    assert ticks >= 5


async def test_pings_are_sent_on_the_interval() -> None:
    transport = Transport()

    async def quiet() -> AsyncIterator[str]:
        yield "start"
        await anyio.sleep(0.55)

    await run(quiet(), transport, ping=0.1)
    assert 3 <= transport.body.count(b": ping\n\n") <= 6


async def test_ping_zero_sends_no_pings() -> None:
    async def quiet() -> AsyncIterator[str]:
        yield "start"
        await anyio.sleep(0.3)

    _, transport = await run(quiet(), ping=0)
    assert transport.body == b"data: start\n\n"


async def test_departed_clients_blocked_sync_source_is_abandoned_then_closed() -> None:
    transport = Transport()
    release = threading.Event()
    closed = threading.Event()

    def blocking() -> Iterator[str]:
        try:
            yield "first"
            release.wait(5)  # a blocking call that the client will not wait for
            yield "never sent"
        finally:
            closed.set()

    async def leave_soon() -> None:
        await anyio.sleep(0.1)
        transport.left.set()

    start = time.monotonic()
    async with anyio.create_task_group() as group:
        group.start_soon(leave_soon)
        outcome, _ = await run(blocking(), transport)
    assert outcome is Outcome.DISCONNECTED
    assert time.monotonic() - start < 1.0  # the blocked step did not hold the response
    assert not closed.is_set()
    release.set()
    assert await anyio.to_thread.run_sync(closed.wait, 5)  # closed once the step returned
    assert transport.body == b"data: first\n\n"


async def test_custom_ping_message_is_encoded_once_with_the_separator() -> None:
    async def quiet() -> AsyncIterator[str]:
        yield "a"
        await anyio.sleep(0.15)

    ping = sse_fast.ServerSentEvent(event="keepalive", data="")
    _, transport = await run(quiet(), ping=0.1, ping_message=ping, sep="\r\n")
    assert b"event: keepalive\r\ndata: \r\n\r\n" in transport.body


@pytest.mark.parametrize("ping", [-1, math.nan])
async def test_bad_ping_interval_is_rejected(ping: float) -> None:
    with pytest.raises(ValueError, match="ping"):
        EventStream([], ping=ping)


async def test_stalled_send_ends_the_stream_with_send_timeout_error() -> None:
    finished = anyio.Event()

    async def endless() -> AsyncIterator[str]:
        try:
            while True:
                yield "x"
                await anyio.sleep(0)
        finally:
            finished.set()

    start = time.monotonic()
    with pytest.raises(SendTimeoutError):
        await run(endless(), Transport(stall=True), send_timeout=0.2)
    assert 0.2 <= time.monotonic() - start < 1.0
    assert finished.is_set()


async def test_client_leaving_cancels_the_source_and_runs_its_finally() -> None:
    transport = Transport()
    closed: list[object] = []
    finally_ran = anyio.Event()

    async def endless() -> AsyncIterator[str]:
        try:
            while True:
                yield "tick"
                await anyio.sleep(0.01)
        finally:
            finally_ran.set()

    async def on_disconnect(message: object) -> None:
        closed.append(message)

    async def leave_soon() -> None:
        await anyio.sleep(0.05)
        transport.left.set()

    async with anyio.create_task_group() as group:
        group.start_soon(leave_soon)
        outcome, _ = await run(endless(), transport, on_disconnect=on_disconnect)
    assert outcome is Outcome.DISCONNECTED
    assert finally_ran.is_set()
    assert closed == [{"type": "http.disconnect"}]


async def test_cancellation_is_raised_even_when_the_farewell_cannot_be_sent() -> None:
    async def client_gone(data: bytes) -> None:
        raise ConnectionResetError("the client left")

    async def silent() -> AsyncIterator[str]:
        await anyio.sleep_forever()
        yield "never"

    farewell = sse_fast.ServerSentEvent("bye")
    stream = EventStream(silent(), ping=0, shutdown=Shutdown(), farewell=farewell)
    with anyio.move_on_after(0.05) as scope:
        await stream.run(client_gone)
    assert scope.cancelled_caught


async def test_send_error_counts_as_disconnect() -> None:
    class Broken(Transport):
        async def send(self, data: bytes) -> None:
            raise ConnectionResetError("gone")

    outcome, _ = await run(["a"], Broken())
    assert outcome is Outcome.DISCONNECTED


async def test_source_error_is_raised_after_earlier_events_are_sent() -> None:
    async def failing() -> AsyncIterator[str]:
        yield "first"
        raise LookupError("source broke")

    transport = Transport()
    with pytest.raises(LookupError, match="source broke"):
        await run(failing(), transport)
    assert transport.body == b"data: first\n\n"


async def test_unknown_item_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="cannot stream int"):
        await run([1])


async def test_invalid_event_fields_are_raised_not_sent() -> None:
    transport = Transport()
    with pytest.raises(ValueError, match=r"^id must not contain"):
        await run(["ok", {"data": "x", "id": "a\nb"}], transport)
    assert b"a\nb" not in transport.body


class TestShutdown:
    async def test_trigger_drains_with_farewell_and_sets_the_event(self) -> None:
        shutdown = Shutdown()
        told = anyio.Event()
        finally_ran = anyio.Event()

        async def endless() -> AsyncIterator[str]:
            try:
                yield "hello"
                await anyio.sleep_forever()
            finally:
                finally_ran.set()

        async def trigger_soon() -> None:
            await anyio.sleep(0.05)
            shutdown.trigger()

        farewell = sse_fast.ServerSentEvent("bye", event="shutdown")
        async with anyio.create_task_group() as group:
            group.start_soon(trigger_soon)
            outcome, transport = await run(
                endless(), shutdown=shutdown, shutdown_event=told, farewell=farewell
            )
        assert outcome is Outcome.SHUTDOWN
        assert told.is_set()
        assert finally_ran.is_set()
        assert transport.body == b"data: hello\n\nevent: shutdown\ndata: bye\n\n"

    async def test_source_may_finish_within_the_grace_period(self) -> None:
        shutdown = Shutdown()
        told = anyio.Event()

        async def cooperative() -> AsyncIterator[str]:
            yield "working"
            await told.wait()
            await anyio.sleep(0.05)
            yield "final words"

        async def trigger_soon() -> None:
            await anyio.sleep(0.02)
            shutdown.trigger()

        async with anyio.create_task_group() as group:
            group.start_soon(trigger_soon)
            _, transport = await run(
                cooperative(), shutdown=shutdown, shutdown_event=told, shutdown_grace_period=1
            )
        assert transport.body == b"data: working\n\ndata: final words\n\n"

    async def test_source_is_cancelled_when_the_grace_period_ends(self) -> None:
        shutdown = Shutdown()

        async def stubborn() -> AsyncIterator[str]:
            yield "a"
            await anyio.sleep_forever()

        async def trigger_soon() -> None:
            await anyio.sleep(0.02)
            shutdown.trigger()

        start = time.monotonic()
        async with anyio.create_task_group() as group:
            group.start_soon(trigger_soon)
            outcome, _ = await run(stubborn(), shutdown=shutdown, shutdown_grace_period=0.2)
        assert outcome is Outcome.SHUTDOWN
        assert 0.2 <= time.monotonic() - start < 1.5

    @pytest.mark.no_cover  # a 1 s bound for 1000 streams: line tracing would break it
    async def test_many_streams_end_together(self) -> None:
        shutdown = Shutdown()

        async def endless() -> AsyncIterator[str]:
            yield "x"
            await anyio.sleep_forever()

        outcomes: list[Outcome] = []

        async def one() -> None:
            outcome, _ = await run(endless(), shutdown=shutdown)
            outcomes.append(outcome)

        async with anyio.create_task_group() as group:
            for _ in range(1000):
                group.start_soon(one)
            await anyio.sleep(0.2)
            assert len(shutdown) == 1000
            start = time.monotonic()
            shutdown.trigger()
        assert time.monotonic() - start < 1.0
        assert outcomes == [Outcome.SHUTDOWN] * 1000
        assert len(shutdown) == 0

    async def test_stream_started_after_trigger_ends_at_once(self) -> None:
        shutdown = Shutdown()
        shutdown.trigger()

        async def endless() -> AsyncIterator[str]:
            await anyio.sleep_forever()
            yield "never"

        outcome, _ = await run(endless(), shutdown=shutdown)
        assert outcome is Outcome.SHUTDOWN

    async def test_triggered_shutdown_is_not_a_process_wide_latch(self) -> None:
        first = current_shutdown()
        first.trigger()
        second = current_shutdown()
        assert second is not first
        assert not second.triggered

    @pytest.mark.needs_posix_signals
    @pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
    async def test_opt_in_signal_drain_chains_the_servers_handler_then_undoes_it(self) -> None:
        received: list[int] = []

        def server_handler(signum: int, frame: object) -> None:
            received.append(signum)

        previous = signal.signal(signal.SIGTERM, server_handler)
        try:
            with drain_on_signals() as shutdown:
                os.kill(os.getpid(), signal.SIGTERM)
                with anyio.fail_after(2):
                    while not shutdown.triggered:
                        await anyio.sleep(0.01)
                assert received == [signal.SIGTERM]
            assert signal.getsignal(signal.SIGTERM) is server_handler
        finally:
            signal.signal(signal.SIGTERM, previous)

    @pytest.mark.parametrize("anyio_backend", ["asyncio"])
    async def test_a_stream_installs_no_signal_handler(self) -> None:
        before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
        await run(["a"], shutdown=None)
        assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


@pytest.mark.needs_posix_signals
def test_two_asyncio_runs_leave_no_stale_signal_chain() -> None:
    import asyncio

    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        installed = signal.getsignal(signal.SIGTERM)

        async def serve_once() -> None:
            async def events() -> AsyncIterator[str]:
                yield "a"

            with drain_on_signals():
                await EventStream(events(), ping=0).run(Transport().send)

        asyncio.run(serve_once())
        asyncio.run(serve_once())
        assert signal.getsignal(signal.SIGTERM) is installed  # nothing left chained
        os.kill(os.getpid(), signal.SIGTERM)
        assert received == [signal.SIGTERM]  # one call: no layer per past loop
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_signal_drain_outside_the_main_thread_installs_nothing() -> None:
    import asyncio
    import threading

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    seen: list[object] = []

    async def in_a_worker_thread() -> None:
        with drain_on_signals() as shutdown:
            seen.append((signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)))
            shutdown.trigger()  # the only way to drain there: an explicit trigger
            seen.append(shutdown.triggered)

    worker = threading.Thread(target=asyncio.run, args=(in_a_worker_thread(),))
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert seen == [before, True]
