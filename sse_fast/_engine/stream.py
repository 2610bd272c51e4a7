"""EventStream: one connection's events from a source to a transport.

The caller's task runs the *pump*: it pulls the source (or serves an EventQueue) and,
when the writer is idle, writes what the source made before resuming it. A step of the
source that suspended or took a while is followed by a write at once; items made in a
fast synchronous run are buffered and written together when the source suspends, when
the batch is full, or once it is :data:`~.batch.MAX_AGE` old. One task waits for the
client to leave; one timer (the clock) serves pings, the send timeout and the grace
period. See :mod:`.runners` for the per-backend parts.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import logging
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from typing import Any

import anyio

from .._framing import ServerSentEvent
from .batch import MAX_AGE, Batch
from .clock import Clock, Due
from .options import StreamOptions
from .queue import EventQueue
from .runners import Runner, runner_for
from .shutdown import Shutdown, current_shutdown
from .threads import ThreadedSource

__all__ = ["EventStream", "Outcome", "SendTimeoutError", "check_source"]

logger = logging.getLogger("sse_fast")

Send = Callable[[bytes], Awaitable[None]]
WaitDisconnect = Callable[[], Awaitable[object]]
# A step of the source that took this long is not part of a burst: write at once.
SLOW_STEP = 0.00002
_CLEANUP_TIMEOUT = 1.0
_DISCONNECT_ERRNOS = {errno.EPIPE, errno.ECONNRESET, errno.ECONNABORTED, errno.ENOTCONN,
                      errno.ESHUTDOWN, errno.ETIMEDOUT}  # fmt: skip


class SendTimeoutError(TimeoutError):
    """A send did not complete within ``send_timeout``: the client stopped reading."""


class Outcome(enum.Enum):
    """How a stream ended (returned by :meth:`EventStream.run`)."""

    COMPLETED = "completed"  # the source was exhausted
    DISCONNECTED = "disconnected"  # the client left
    SHUTDOWN = "shutdown"  # the server is going away


def check_source(source: object) -> None:
    """Raise ``TypeError`` unless ``source`` is something to stream events from."""
    single = isinstance(source, str | bytes | bytearray | memoryview | dict | ServerSentEvent)
    if single or hasattr(type(source), "__sse_frame__"):
        raise TypeError(
            f"expected the events as an iterable, an async iterable or an EventQueue, not "
            f"{type(source).__name__}: wrap a single event in a list ([event])"
        )
    if not isinstance(source, AsyncIterable | Iterable | EventQueue):
        raise TypeError(
            "expected the events as an iterable, an async iterable or an EventQueue, not "
            f"{type(source).__name__}"
        )


def is_disconnect(exc: OSError) -> bool:
    """ASGI servers raise an ``OSError`` of their own (no errno) once the client left."""
    return isinstance(exc, ConnectionError) or exc.errno is None or exc.errno in _DISCONNECT_ERRNOS


class EventStream:
    """Streams events from ``source`` to a transport, with pings, timeouts and shutdown.

    ``source`` is a sync or async iterable or an :class:`~sse_fast.EventQueue` of
    :class:`~sse_fast.ServerSentEvent`, ``str`` (an event with only data), ``dict``
    (the fields of an event), ``bytes`` (already framed), a list or tuple of those (sent
    in one write), or objects whose type has ``__sse_frame__(sep) -> bytes``. A sync
    iterable other than a list or tuple is stepped in worker threads.

    ``options`` (a :class:`StreamOptions`, or its keyword arguments) are checked here.
    ``shutdown`` (default: :func:`current_shutdown`) drains the stream; when it triggers,
    ``shutdown_event.set()`` is called. ``on_disconnect(message)`` is awaited after the
    source was closed because the client left. ``background()`` runs beside the stream
    and is cancelled when it ends.
    """

    def __init__(
        self,
        source: Any,
        *,
        options: StreamOptions | None = None,
        shutdown: Shutdown | None = None,
        shutdown_event: Any = None,
        on_disconnect: Callable[[object], Awaitable[object]] | None = None,
        background: Callable[[], Awaitable[object]] | None = None,
        **option_values: Any,
    ) -> None:
        check_source(source)
        self.options = options = options if options is not None else StreamOptions(**option_values)
        self._source = source
        self._pulled: Any = None  # the async iterator being pulled, until closed
        self._shutdown = shutdown
        self._shutdown_event = shutdown_event
        self._on_disconnect = on_disconnect
        self.background = background
        self.batch = Batch(options.sep)
        self.clock = Clock(
            options.ping, options.send_timeout, ping_idle_only=options.ping_idle_only
        )
        self.runner: Runner | None = None
        self._send: Send | None = None
        self._end: Send | None = None
        self.writing = False
        self.ping_due = False
        self.stopping = False
        self.in_source = False  # the pump is awaiting the source
        self.pump_waiting = False  # the pump waits for a wake-up (queue, or the writer)
        self._queue_limit = 0
        self._putter_scope: anyio.CancelScope | None = None  # a put() writing
        self.outcome: Outcome | None = None
        self.ending = False  # the end callback is under way
        self.body_ended = False  # the end callback was sent
        self.error: BaseException | None = None
        self.timed_out = False
        self.shutdown_begun = False
        self.draining = False  # the grace period is over: everything is being stopped
        self._farewell_started = False
        self.disconnect_message: object = None

    # ------------------------------------------------------------ running

    async def run(
        self, send: Send, wait_disconnect: WaitDisconnect | None = None, *, end: Send | None = None
    ) -> Outcome:
        """Stream until the source ends, the client leaves or the server shuts down.

        ``send(data)`` writes to the client and raises ``OSError`` once it has gone;
        ``wait_disconnect()`` returns when the client has left. ``end(data)``, if given,
        writes ``data`` and ends the body, in one write (used for the last events).
        Raises :class:`SendTimeoutError` when a write stalls, and what the source raised
        after sending what it made before.
        """
        shutdown = self._shutdown if self._shutdown is not None else current_shutdown()
        self._send, self._end = send, end
        self.runner = runner_for(self)
        shutdown.register(self)
        try:
            await self.runner.run(self._pump, wait_disconnect)
            if self.draining and self.outcome is None:
                with anyio.move_on_after(_CLEANUP_TIMEOUT):  # the source made it; then bye
                    await self._finish(shutting_down=True)
        except anyio.get_cancelled_exc_class():
            # The server cancelled us (its graceful-shutdown timeout ran out): the client
            # still gets the farewell, on an event boundary, before we go.
            if self.options.farewell and self.outcome is None and not self._farewell_started:
                # A client that left meanwhile must not turn the cancellation into an
                # OSError: the caller is owed its CancelledError.
                with (
                    anyio.CancelScope(shield=True),
                    anyio.move_on_after(_CLEANUP_TIMEOUT),
                    contextlib.suppress(OSError),
                ):
                    await self._finish(shutting_down=True)
            raise
        finally:
            shutdown.unregister(self)
            if isinstance(self._source, EventQueue):
                self._source.end(self._end_error())
        if self.timed_out:
            raise SendTimeoutError(f"a send did not complete within {self.options.send_timeout} s")
        if self.outcome is Outcome.DISCONNECTED and self._on_disconnect is not None:
            await self._on_disconnect(self.disconnect_message)
        if self.error is not None:
            raise self.error
        return self.outcome or Outcome.SHUTDOWN

    def _end_error(self) -> BaseException:
        if self.timed_out:
            return SendTimeoutError(f"a send did not complete within {self.options.send_timeout} s")
        if self.outcome is Outcome.DISCONNECTED:
            return ConnectionResetError("the client has disconnected")
        if self.shutdown_begun:
            return ConnectionResetError("the server is shutting down: the stream has ended")
        return ConnectionResetError("the stream has ended")

    def fail(self, exc: BaseException) -> None:
        """One part of the stream failed: stop the rest; run() raises ``exc``."""
        if self.error is None:
            self.error = exc
        self.stop()

    def stop(self) -> None:
        """End the stream: stop every part, once."""
        if not self.stopping:
            self.stopping = True
            if self._putter_scope is not None:
                self._putter_scope.cancel()
            if self.runner is not None:
                self.runner.stop()

    def begin_shutdown(self) -> None:
        """Called by :class:`Shutdown`: the grace period starts."""
        if self.shutdown_begun:
            return
        self.shutdown_begun = True
        if self._shutdown_event is not None:
            self._shutdown_event.set()
        if self.runner is not None:
            self.runner.begin_grace()

    def on_clock(self, now: float, armed_for: float) -> None:
        """The timer fired: do what is due."""
        if self.stopping:
            return
        due = self.clock.check(now, armed_for)
        if due & Due.GRACE_OVER:
            self.draining = True  # run() sends what is left and the farewell
            self.stop()
        elif due & Due.SEND_TIMEOUT:
            self.timed_out = True
            self.stop()
        elif due & Due.PING:
            self.ping_due = True
            self.kick()

    def kick(self) -> None:
        """There is something to write: have it written now if nobody is writing."""
        if self.writing or self.stopping or self.runner is None:
            return
        if self.pump_waiting:
            self.runner.wake_pump()
        else:
            self.runner.start_flusher()

    # ------------------------------------------------------------ the pump

    async def _pump(self) -> None:
        try:
            await self._pump_source()
        except Exception as exc:  # a bad item, a failed write: run() raises it
            self.fail(exc)

    async def _pump_source(self) -> None:
        source = self._source
        if isinstance(source, EventQueue):
            await self._serve_queue(source)
        elif isinstance(source, list | tuple):
            for item in source:
                self.batch.add(item)
                if self.batch.full:
                    await self.flush()
        else:
            if not isinstance(source, AsyncIterable):
                source = ThreadedSource(iter(source), self.options.thread_limiter)
            self._pulled = source
            try:
                await self._pull(source)
            finally:
                await self.close_source()
        await self._finish(shutting_down=self.shutdown_begun)

    async def _pull(self, source: Any) -> None:
        batch, runner, perf_counter = self.batch, self.runner, time.perf_counter
        assert runner is not None
        step = source.__anext__
        first = True
        while not self.stopping:
            turn = runner.turn()
            started = perf_counter()
            self.in_source = True
            try:
                item = await step()
            except StopAsyncIteration:
                return
            except Exception as exc:
                self.error = exc  # raised by run() once what came before is sent
                return
            finally:
                self.in_source = False
            now = perf_counter()
            if not batch:
                batch.started = now
            batch.add(item)
            if self.writing:  # a flusher is writing: it takes this too
                if batch.full:
                    await runner.wait_for_writer()
            elif (
                first
                or now - started >= SLOW_STEP
                or runner.turn() != turn
                or batch.full
                or now - batch.started >= MAX_AGE
            ):
                first = False
                await self.flush()
            else:
                runner.flush_later(batch.started + MAX_AGE)

    async def close_source(self) -> None:
        """Close the source so its ``finally`` runs, even when we were cancelled; once."""
        aclose = getattr(self._pulled, "aclose", None)
        self._pulled = None
        if aclose is None:
            return
        try:
            with anyio.CancelScope(shield=True), anyio.move_on_after(_CLEANUP_TIMEOUT):
                await aclose()
        except Exception as exc:
            if self.error is None:
                self.error = exc
            else:  # the source's own error is the one raised; its cleanup's is logged
                logger.error("the event source failed while closing", exc_info=exc)

    async def _serve_queue(self, queue: EventQueue) -> None:
        assert self.runner is not None
        self._queue_limit = queue.maxsize
        for item in queue.attach(self):
            self.batch.add(item)
        while not self.stopping:
            if self.batch and not self.writing:
                await self.flush()
            elif queue.closed and not self.writing:
                return
            else:
                self.pump_waiting = True
                try:
                    await self.runner.wait_pump()
                finally:
                    self.pump_waiting = False

    # ------------------------------------------------------------ EventQueue, attached

    async def push(self, item: Any) -> None:
        runner = self.runner
        assert runner is not None
        batch = self.batch
        while (batch.count >= self._queue_limit or batch.full) and not self.stopping:
            if self.writing or runner.wrote_this_turn():
                await runner.wait_for_writer()
            else:
                await self._write_through()
        if self.stopping:
            raise self._end_error()
        if not batch:
            batch.started = time.perf_counter()
        batch.add(item)
        if self.writing or runner.wrote_this_turn():
            runner.flush_later(batch.started + MAX_AGE)  # leaves with the write under way
            return
        await self._write_through()

    async def _write_through(self) -> None:
        """Flush in the putter's task, which stop() can interrupt (a timeout, a departure)."""
        with anyio.CancelScope() as self._putter_scope:
            await self.flush()
        self._putter_scope = None
        if self.stopping and self.outcome is not Outcome.COMPLETED:
            raise self._end_error()

    def push_nowait(self, item: Any) -> None:
        if self.batch.count >= self._queue_limit or self.batch.full:
            import asyncio

            raise asyncio.QueueFull(f"EventQueue is full ({self.batch.count} items unsent)")
        if not self.batch:
            self.batch.started = time.perf_counter()
        self.batch.add(item)
        self.kick()

    def source_closed(self) -> None:
        if self.pump_waiting and self.runner is not None:
            self.runner.wake_pump()

    def take_unsent(self) -> bytes | None:
        """The framed events not yet taken by the writer (``None`` once ending).

        Removed when the aiohttp adapter moves to EventQueue.
        """
        if self.stopping or self.outcome is not None or self.draining:
            return None
        return self.take() if self.batch else b""

    # ------------------------------------------------------------ writing

    def take(self) -> bytes:
        """The batch as bytes, after a due ping."""
        data = self.batch.take() if self.batch else b""
        if data:
            self.clock.writes += 1
            self.runner.room_made()  # type: ignore[union-attr]
        if self.ping_due:
            self.ping_due = False
            if not (data and self.options.ping_idle_only):
                data = self.options.make_ping() + data
        return data

    async def flush(self) -> None:
        """Write the batch (and a due ping) until nothing is left; one writer at a time."""
        if self.writing:
            return
        self.writing = True
        try:
            while not self.stopping and (self.batch or self.ping_due):
                await self.write(self.take())
        except Exception as exc:
            self.fail(exc)
        finally:
            self.writing = False
            if self.runner is not None:
                self.runner.writer_done()

    async def write(self, data: bytes, *, last: bool = False) -> bool:
        """Send ``data`` (ending the body when ``last``); False if the client has gone."""
        runner = self.runner
        assert runner is not None
        assert self._send is not None
        if self.clock.send_timeout is not None:
            runner.send_started()
        try:
            if last and self._end is not None:
                self.ending = True  # the server may report the end as a disconnect
                await self._end(data)
                self.body_ended = True
            elif data:
                await self._send(data)
        except OSError as exc:
            if not is_disconnect(exc):
                raise
            if self.outcome is None:
                self.outcome = Outcome.DISCONNECTED
            self.stop()
            return False
        finally:
            self.clock.send_started = None
        runner.wrote()
        return True

    async def _finish(self, *, shutting_down: bool) -> None:
        """The source is done (or cut off by shutdown): its last events leave now, with
        the farewell when shutting down, then the end of the body."""
        assert self.runner is not None
        if not shutting_down:
            while self.writing and not self.stopping:
                await self.runner.wait_for_writer()
            if self.stopping:
                return
        data = self.batch.take()
        if self.error is not None:  # the body is not ended as if all went well
            if data:
                await self.write(data)
            return
        if shutting_down:
            self._farewell_started = True
            data += self.options.farewell
        if await self.write(data, last=True):
            self.outcome = Outcome.SHUTDOWN if shutting_down else Outcome.COMPLETED
