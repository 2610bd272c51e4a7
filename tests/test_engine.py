"""Engine behaviour that issue 10 and issue 12 found wrong, on an in-memory transport.

Ordering is checked by what the transport had received when the source went on, not by
wall time; the few timing bounds are generous.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from test_stream import Transport, no_slow_steps, run  # noqa: F401 (a fixture)

import sse_fast
from sse_fast.stream import EventStream, Outcome, Shutdown, StreamOptions

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_an_event_is_written_before_a_blocking_source_is_resumed() -> None:
    transport = Transport()
    seen_before_resuming: list[bytes] = []

    async def blocking() -> AsyncIterator[str]:
        for n in range(3):
            yield str(n)
            seen_before_resuming.append(transport.body)
            time.sleep(0.01)  # synchronous work (a local model, a sync cursor) between yields

    await run(blocking(), transport)
    assert seen_before_resuming == [
        b"data: 0\n\n",
        b"data: 0\n\ndata: 1\n\n",
        b"data: 0\n\ndata: 1\n\ndata: 2\n\n",
    ]


async def test_an_event_after_a_suspension_is_written_before_the_source_goes_on() -> None:
    transport = Transport()
    seen: list[bytes] = []

    async def one_per_turn() -> AsyncIterator[str]:
        for n in range(3):
            await anyio.sleep(0.001)
            yield str(n)
            seen.append(transport.body)

    await run(one_per_turn(), transport)
    assert [body.count(b"data: ") for body in seen] == [1, 2, 3]


class Ending(Transport):
    """Records the call that ends the body apart from the other writes."""

    def __init__(self) -> None:
        super().__init__()
        self.ended_with: bytes | None = None

    async def end(self, data: bytes) -> None:
        self.ended_with = data


async def run_with_end(source: Any, transport: Ending, **options: Any) -> Outcome:
    options.setdefault("ping", 0)
    stream = EventStream(source, shutdown=Shutdown(), **options)
    return await stream.run(transport.send, transport.wait_disconnect, end=transport.end)


@pytest.mark.usefixtures("no_slow_steps")
async def test_the_last_events_and_the_end_of_the_body_leave_in_one_write() -> None:
    transport = Ending()

    async def finite() -> AsyncIterator[str]:
        yield "first"
        await anyio.sleep(0.01)
        yield "second"
        yield "last"

    assert await run_with_end(finite(), transport) is Outcome.COMPLETED
    assert transport.writes == [b"data: first\n\n", b"data: second\n\n"]
    assert transport.ended_with == b"data: last\n\n"


async def test_the_farewell_ends_the_body_in_the_same_write() -> None:
    transport = Ending()
    shutdown = Shutdown()
    shutdown.trigger()

    async def endless() -> AsyncIterator[str]:
        await anyio.sleep_forever()
        yield "never"

    farewell = sse_fast.ServerSentEvent("bye")
    stream = EventStream(endless(), ping=0, shutdown=shutdown, farewell=farewell)
    assert await stream.run(transport.send, end=transport.end) is Outcome.SHUTDOWN
    assert transport.ended_with == b"data: bye\n\n"


@pytest.mark.parametrize(
    ("returned", "name"),
    [
        ("text", "str"),
        (b"data: x\n\n", "bytes"),
        ({"data": "x"}, "dict"),
        (sse_fast.ServerSentEvent("x"), "ServerSentEvent"),
        (42, "int"),
    ],
)
async def test_a_source_that_is_not_a_stream_of_events_is_a_type_error(
    returned: Any, name: str
) -> None:
    with pytest.raises(TypeError, match=f"iterable, an async iterable or an EventQueue.*{name}"):
        EventStream(returned)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"shutdown_grace_period": -1}, "shutdown_grace_period must be >= 0"),
        ({"send_timeout": 0}, "send_timeout must be > 0"),
        ({"farewell": "bye"}, "farewell must be a ServerSentEvent or framed bytes"),
        ({"farewell": b"data: bye\n"}, "farewell bytes must end with a blank line"),
        ({"ping_message": b": ping\n"}, "ping_message bytes must end with a blank line"),
        ({"ping_message": b": ping\n\n", "sep": "\r\n"}, "ping_message bytes must end"),
        ({"sep": "\n\n"}, "sep must be one of"),
        ({"ping": "15"}, "ping must be a number of seconds"),
        ({"cleanup_timeout": -1}, "cleanup_timeout must be >= 0"),
        ({"convert": "str"}, "convert must be callable, not str"),
    ],
)
async def test_bad_options_are_rejected_when_built(options: Any, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        StreamOptions(**options)


async def test_a_blocked_loop_does_not_cut_off_a_healthy_client() -> None:
    release = anyio.Event()

    class Healthy(Transport):
        async def send(self, data: bytes) -> None:
            await release.wait()  # the client reads it as soon as the loop runs again
            await super().send(data)

    async def block_the_loop() -> None:
        await anyio.sleep(0.02)  # the first send is in flight
        time.sleep(0.6)  # a handler does synchronous work, 3x send_timeout
        await anyio.sleep(0.02)
        release.set()

    async with anyio.create_task_group() as group:
        group.start_soon(block_the_loop)
        outcome, transport = await run(["a", "b"], Healthy(), send_timeout=0.2)
    assert outcome is Outcome.COMPLETED
    assert transport.body == b"data: a\n\ndata: b\n\n"


async def test_an_idle_stream_with_a_send_timeout_has_no_wake_ups() -> None:
    checks = 0

    class Counted(EventStream):
        def on_clock(self, now: float, armed_for: float) -> None:
            nonlocal checks
            checks += 1
            super().on_clock(now, armed_for)

    async def idle() -> AsyncIterator[str]:
        yield "hello"
        await anyio.sleep(0.3)

    transport = Transport()
    stream = Counted(idle(), ping=0, send_timeout=0.02, shutdown=Shutdown())
    await stream.run(transport.send, transport.wait_disconnect)
    assert checks <= 1  # not every send_timeout/4 = 5 ms


async def test_when_the_stream_fails_and_the_sources_finally_too_the_first_is_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def failing() -> AsyncIterator[Any]:
        try:
            yield "a"
            yield object()  # the stream fails on this item: a TypeError
        finally:
            raise RuntimeError("and the cleanup failed too")

    with caplog.at_level(logging.ERROR, logger="sse_fast"), pytest.raises(TypeError):
        await run(failing())
    assert "and the cleanup failed too" in caplog.text


class Interrupt(BaseException):
    """Not an Exception: it must never be swallowed."""


async def test_a_base_exception_from_the_source_propagates() -> None:
    async def interrupted() -> AsyncIterator[str]:
        yield "a"
        raise Interrupt

    error: BaseException | None = None
    with anyio.fail_after(5):
        try:
            await run(interrupted())
        except BaseException as exc:
            error = exc
    assert error is not None
    assert contains(error, Interrupt)  # itself, or in trio's exception group


def contains(error: BaseException, kind: type[BaseException]) -> bool:
    inner = getattr(error, "exceptions", ())
    return isinstance(error, kind) or any(contains(part, kind) for part in inner)


async def test_an_os_error_from_send_that_is_not_a_disconnect_is_raised() -> None:
    class DiskFull(Transport):
        async def send(self, data: bytes) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        await run(["a"], DiskFull())


async def test_a_server_specific_os_error_without_errno_is_a_disconnect() -> None:
    class ClientDisconnected(OSError):
        pass

    class Gone(Transport):
        async def send(self, data: bytes) -> None:
            raise ClientDisconnected  # what ASGI servers raise once the client left

    outcome, _ = await run(["a"], Gone())
    assert outcome is Outcome.DISCONNECTED


async def test_sync_sources_run_under_the_streams_own_thread_limiter() -> None:
    limiter = anyio.CapacityLimiter(1)
    borrowed: list[int] = []

    def blocking() -> Iterator[str]:
        for n in range(3):
            borrowed.append(limiter.borrowed_tokens)
            yield str(n)

    _, transport = await run(blocking(), thread_limiter=limiter)
    assert transport.body == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
    assert borrowed == [1, 1, 1]
    assert anyio.to_thread.current_default_thread_limiter().borrowed_tokens == 0


async def test_an_async_iterable_that_is_not_its_own_iterator_is_streamed_and_closed() -> None:
    transport = Transport()
    closed: list[bool] = []

    class Feed:
        """Like a broker Subscription: ``__aiter__`` returns a fresh generator."""

        def __aiter__(self) -> AsyncIterator[str]:
            return self._items()

        async def _items(self) -> AsyncIterator[str]:
            try:
                yield "a"
                yield "b"
            finally:
                closed.append(True)

    await run(Feed(), transport)
    assert transport.body == b"data: a\n\ndata: b\n\n"
    assert closed == [True]


async def endless(closed: list[bool]) -> AsyncIterator[str]:
    try:
        yield "a"
        await anyio.sleep_forever()
    finally:
        closed.append(True)


async def test_a_failing_background_task_ends_the_stream_and_is_raised() -> None:
    async def background() -> None:
        await anyio.sleep(0.01)
        raise LookupError("the background task failed")

    closed: list[bool] = []
    transport = Transport()
    stream = EventStream(endless(closed), ping=0, shutdown=Shutdown(), background=background)
    with anyio.fail_after(5), pytest.raises(LookupError, match="background task failed"):
        await stream.run(transport.send, transport.wait_disconnect)
    assert closed == [True]
    assert transport.body == b"data: a\n\n"


async def test_a_failing_disconnect_watcher_ends_the_stream_and_is_raised() -> None:
    async def broken_watcher() -> object:
        await anyio.sleep(0.01)
        raise ConnectionAbortedError("the server's receive() failed")

    closed: list[bool] = []
    transport = Transport()
    stream = EventStream(endless(closed), ping=0, shutdown=Shutdown())
    with anyio.fail_after(5), pytest.raises(ConnectionAbortedError, match="receive"):
        await stream.run(transport.send, broken_watcher)
    assert closed == [True]


async def test_convert_turns_an_adapters_own_items_into_events_and_leaves_text_alone() -> None:
    converted: list[object] = []

    def numbers_as_text(item: Any) -> Any:
        converted.append(item)
        return str(item) if isinstance(item, int) else item

    items: list[Any] = ["a", 1, [2, sse_fast.ServerSentEvent("b")], {"data": "c"}]
    _, transport = await run(items, convert=numbers_as_text)
    assert transport.body == b"data: a\n\ndata: 1\n\ndata: 2\n\ndata: b\n\ndata: c\n\n"
    assert converted == [1, [2, sse_fast.ServerSentEvent("b")], 2, {"data": "c"}]


@pytest.mark.parametrize(
    ("cleanup_timeout", "swallowed"), [(0.05, False), (None, False), (0.05, True)]
)
async def test_cleanup_timeout_bounds_the_closing_of_a_source(
    cleanup_timeout: float | None, swallowed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The client stops reading, then leaves, while the source waits at a ``yield``. A
    cleanup cut short is logged once, even when the source's ``finally`` swallows the
    cancellation and returns."""
    closed: list[str] = []

    async def slow_cleanup() -> AsyncIterator[str]:
        try:
            for n in range(100_000):
                yield str(n)
        finally:
            try:
                await anyio.sleep(0.3)
                closed.append("finished")
            except anyio.get_cancelled_exc_class():
                closed.append("cut short")
                if not swallowed:
                    raise

    transport = Transport(stall=True)

    async def leave_soon() -> None:
        await anyio.sleep(0.05)
        transport.left.set()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(leave_soon)
            outcome, _ = await run(slow_cleanup(), transport, cleanup_timeout=cleanup_timeout)
    assert outcome is Outcome.DISCONNECTED
    assert closed == (["cut short"] if cleanup_timeout else ["finished"])
    warnings = [r for r in caplog.records if "cleanup_timeout" in r.getMessage()]
    assert [r.levelno for r in warnings] == ([logging.WARNING] if cleanup_timeout else [])


async def test_an_error_the_stream_cannot_raise_when_cancelled_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Cancelled from outside (the client stopped reading, the source waits at a
    ``yield``) while the source's ``finally`` fails: the cancellation goes on, and the
    cleanup's error is logged instead of lost."""
    failure = RuntimeError("the cleanup failed")

    async def failing_cleanup() -> AsyncIterator[str]:
        try:
            for n in range(100_000):
                yield str(n)
        finally:
            raise failure

    with anyio.fail_after(3), anyio.CancelScope() as scope:
        async with anyio.create_task_group() as group:
            group.start_soon(run, failing_cleanup(), Transport(stall=True))
            await anyio.sleep(0.05)
            scope.cancel()
    assert scope.cancelled_caught
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.name for r in errors] == ["sse_fast"]
    assert errors[0].exc_info is not None
    assert errors[0].exc_info[1] is failure


async def test_a_stream_logs_to_the_logger_of_its_options(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def failing() -> AsyncIterator[Any]:
        try:
            yield "a"
            yield object()  # a TypeError, raised by run()
        finally:
            raise RuntimeError("and the cleanup failed too")

    mine = logging.getLogger("my_app.events")
    with pytest.raises(TypeError):
        await run(failing(), options=StreamOptions(ping=0, logger=mine))
    assert [(r.name, r.levelno) for r in caplog.records] == [("my_app.events", logging.ERROR)]
    with pytest.raises(TypeError, match=r"^logger must be a logging.Logger, not str$"):
        StreamOptions(logger="my_app.events")  # type: ignore[arg-type]


class StalledEnd(Transport):
    """A server that takes the body's other writes but never completes its end (a client
    that stopped reading just then); ``end_started`` is set when the end is under way."""

    def __init__(self) -> None:
        super().__init__()
        self.end_started = anyio.Event()
        self.end_calls = 0

    async def end(self, data: bytes) -> None:
        self.end_calls += 1
        self.end_started.set()
        await anyio.sleep_forever()

    async def run(self, stream: EventStream, then: Any) -> Outcome:
        """Run ``stream``; call ``then()`` once its end of the body stalls."""

        async def once_the_end_stalls() -> None:
            await self.end_started.wait()
            then()

        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                group.start_soon(once_the_end_stalls)
                outcome = await stream.run(self.send, self.wait_disconnect, end=self.end)
        return outcome


def one_event(closed: list[str]) -> AsyncIterator[str]:
    async def source() -> AsyncIterator[str]:
        try:
            yield "only"
        finally:
            closed.append("closed")

    return source()


async def test_a_client_leaving_during_a_stalled_end_of_the_body_ends_the_stream() -> None:
    closed: list[str] = []
    left: list[object] = []
    transport = StalledEnd()

    async def on_disconnect(message: object) -> None:
        left.append(message)

    stream = EventStream(
        one_event(closed), ping=0, shutdown=Shutdown(), on_disconnect=on_disconnect
    )
    assert await transport.run(stream, then=transport.left.set) is Outcome.DISCONNECTED
    assert closed == ["closed"]
    assert left == [{"type": "http.disconnect"}]
    assert transport.end_calls == 1


async def test_a_server_reporting_its_own_end_of_the_body_as_a_departure_completes() -> None:
    """hypercorn hands the app an ``http.disconnect`` from inside the send that ends the
    body: that send is let finish, and the stream has completed."""
    transport = Ending()
    left: list[object] = []

    async def end_reporting_a_departure(data: bytes) -> None:
        transport.left.set()
        await anyio.sleep(0.01)  # the server finishes its own bookkeeping
        transport.ended_with = data

    async def on_disconnect(message: object) -> None:
        left.append(message)

    stream = EventStream(["a"], ping=0, shutdown=Shutdown(), on_disconnect=on_disconnect)
    with anyio.fail_after(5):
        outcome = await stream.run(
            transport.send, transport.wait_disconnect, end=end_reporting_a_departure
        )
    assert outcome is Outcome.COMPLETED
    assert transport.ended_with == b"data: a\n\n"
    assert left == []


async def test_a_shutdown_during_a_stalled_end_ends_the_stream_without_ending_it_again() -> None:
    closed: list[str] = []
    transport = StalledEnd()
    shutdown = Shutdown()

    stream = EventStream(one_event(closed), ping=0, shutdown=shutdown)
    assert await transport.run(stream, then=shutdown.trigger) is Outcome.SHUTDOWN
    assert closed == ["closed"]
    assert transport.end_calls == 1  # a stalled end is not written a second time
    assert not stream.can_end_body


async def test_a_cancellation_during_a_stalled_send_closes_the_source_and_propagates() -> None:
    closed: list[bool] = []
    sends = 0
    send_started = anyio.Event()

    class Stalled(Transport):
        async def send(self, data: bytes) -> None:
            nonlocal sends
            sends += 1
            send_started.set()
            await anyio.sleep_forever()

    transport = Stalled()
    farewell = sse_fast.ServerSentEvent("bye")
    stream = EventStream(endless(closed), ping=0, shutdown=Shutdown(), farewell=farewell)
    with anyio.fail_after(5):
        with anyio.CancelScope() as outside:
            async with anyio.create_task_group() as group:
                group.start_soon(stream.run, transport.send, transport.wait_disconnect)
                await send_started.wait()
                outside.cancel()
    assert outside.cancelled_caught
    assert closed == [True]
    assert sends == 1  # no farewell written behind a send that was cut in the middle


async def test_a_plain_os_error_from_send_is_raised_not_taken_for_a_departure() -> None:
    closed: list[str] = []
    error = OSError("connection closed")

    class Failing(Transport):
        async def send(self, data: bytes) -> None:
            raise error

    with anyio.fail_after(5), pytest.raises(OSError, match="connection closed") as raised:
        await run(one_event(closed), Failing())
    assert raised.value is error
    assert closed == ["closed"]


def test_a_stream_has_no_instance_dict() -> None:
    # Thousands of idle streams per process: every part of the stream declares no slots
    # of its own, or each stream would carry a dict.
    assert not hasattr(EventStream([]), "__dict__")
