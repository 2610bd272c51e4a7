"""The pump: pulling a source, or serving an EventQueue, into the stream's batch.

It runs in the task that called :meth:`EventStream.run` (an EventQueue's ``put`` runs
in the putter's task). When the writer is idle it writes before the source is resumed;
items made in a fast synchronous run of the source are buffered and leave together.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any

import anyio

from .._framing import ServerSentEvent, encode_many
from .batch import MAX_AGE, MAX_BYTES, MAX_EVENTS, Batch
from .queue import EventQueue

if TYPE_CHECKING:
    from .clock import Clock
    from .options import StreamOptions
    from .outcome import Outcome
    from .runners import Runner

__all__ = ["SLOW_STEP", "Pump", "check_source"]

logger = logging.getLogger("sse_fast")

# A step of the source that took this long is not part of a burst: write at once.
SLOW_STEP = 0.00002


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


class _Step:
    """Awaits one step of an async iterator and tells whether it suspended.

    It drives the step's awaitable as ``await`` would (every value yielded to the event
    loop and sent back), and calls ``on_suspend()`` when the step first yields to the
    loop: that is when events buffered from a fast run of the source must be written.
    """

    __slots__ = ("next", "on_suspend", "suspended")

    def __init__(self, next: Callable[[], Awaitable[Any]], on_suspend: Callable[[], None]) -> None:
        self.next = next
        self.on_suspend = on_suspend
        self.suspended = False

    def __await__(self) -> Generator[Any, Any, Any]:
        self.suspended = False
        step = self.next().__await__()
        try:
            signal = step.send(None)
        except StopIteration as done:
            return done.value
        self.suspended = True
        self.on_suspend()
        while True:
            try:
                value = yield signal
            except BaseException as exc:  # noqa: PERF203 (cancellation: the step's to handle)
                try:
                    signal = step.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    signal = step.send(value)
                except StopIteration as done:
                    return done.value


class Pump:
    """The source side of :class:`~.stream.EventStream` (a base class of it)."""

    if not TYPE_CHECKING:  # EventStream declares the slots (mypy looks for them here)
        __slots__ = ()

    batch: Batch
    options: StreamOptions
    runner: Runner | None
    writing: bool
    ping_due: bool
    stopping: bool
    in_source: bool
    pump_waiting: bool
    pump_running: bool
    error: BaseException | None
    outcome: Outcome | None
    _queue_limit: int
    _pulled: Any
    _putter: asyncio.Task[Any] | anyio.CancelScope | None

    if TYPE_CHECKING:
        clock: Clock

        async def flush(self, frame: bytes = b"") -> None: ...
        async def write(self, data: bytes, *, last: bool = False) -> bool: ...
        def kick(self) -> None: ...
        def _end_error(self) -> BaseException: ...
        def _completed(self) -> bool: ...

    async def _pull(self, source: Any) -> None:
        batch, runner, perf_counter = self.batch, self.runner, time.perf_counter
        assert runner is not None
        step = _Step(source.__anext__, self._source_suspended)
        sep = self.options.sep
        first = True
        while not self.stopping:
            started = perf_counter()
            self.in_source = True
            try:
                item = await step
            except StopAsyncIteration:
                return
            except Exception as exc:
                self.error = exc  # raised by run() once what came before is sent
                return
            finally:
                self.in_source = False
            now = perf_counter()
            if self.writing:  # a flusher is writing: it takes this too
                if not batch:
                    batch.started = now
                batch.add(item)
                if batch.full:
                    await runner.wait_for_writer()
                continue
            write_now = first or step.suspended or now - started >= SLOW_STEP
            first = False
            if write_now and not batch and not self.ping_due and type(item) is str:
                # One event after a pause: framed and written at once, no batch.
                await self._write_one(encode_many([item], sep))
                continue
            if not batch:
                batch.started = now
            batch.add(item)
            if write_now or batch.full or now - batch.started >= MAX_AGE:
                await self.flush()

    def _source_suspended(self) -> None:
        """The source is waiting for something: what it made before leaves now."""
        if self.batch and not self.writing:
            self.kick()

    async def _write_one(self, frame: bytes) -> None:
        self.writing = True
        try:
            await self.write(frame)
        finally:
            self.writing = False
        self.clock.writes += 1

    @property
    def putters_write(self) -> bool:
        """An EventQueue's puts write themselves: its pump waits, or has not started."""
        return self.pump_waiting or not self.pump_running

    def attach_queue(self, queue: EventQueue) -> None:
        """Become ``queue``'s consumer (once): its items go straight into the batch."""
        if self._queue_limit:
            return
        self._queue_limit = min(queue.maxsize, MAX_EVENTS)  # one test per put: room?
        for item in queue.attach(self):
            self.batch.add(item)

    async def _serve_queue(self, queue: EventQueue) -> None:
        assert self.runner is not None
        self.attach_queue(queue)
        while not self.stopping:
            if (self.batch or self.ping_due) and not self.writing:
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
        batch, runner = self.batch, self.runner
        assert runner is not None
        if batch.count >= self._queue_limit or batch.size >= MAX_BYTES:
            await self._wait_for_room()
        elif self.stopping:
            raise self._end_error()
        write_now = not (self.writing or runner.wrote_this_turn())
        framed = type(item) is bytes  # send(): framed already
        if not batch:
            if write_now and framed and not self.ping_due:
                await self._write_through(item)  # the usual send(): nothing else to write
                return
            batch.started = time.perf_counter()
        if framed:
            batch.add_frame(item)
        else:
            batch.add(item)
        if write_now:
            await self._write_through()
        else:
            runner.flush_later(batch.started + MAX_AGE)  # leaves with the write under way

    async def _wait_for_room(self) -> None:
        runner, batch = self.runner, self.batch
        assert runner is not None
        while (batch.count >= self._queue_limit or batch.size >= MAX_BYTES) and not self.stopping:
            if self.writing or runner.wrote_this_turn():
                await runner.wait_for_writer()
            else:
                await self._write_through()
        if self.stopping:
            raise self._end_error()

    async def _write_through(self, frame: bytes = b"") -> None:
        """Flush (``frame`` first) in the putter's task, which stop() interrupts if the
        write suspends (a timeout, a departure): the putter then raises the stream's end
        error."""
        runner = self.runner
        assert runner is not None
        if runner.loop is None:  # trio: a cancel scope, which stop() cancels
            with anyio.CancelScope() as self._putter:
                await self.flush(frame)
            self._putter = None
        else:
            # No cancel scope per event: stop() cancels this task only when it is
            # suspended in the write, and says so by clearing _putter.
            self._putter = task = asyncio.current_task(runner.loop)
            try:
                await self.flush(frame)
            except asyncio.CancelledError:
                if self._putter is task or not self.stopping:
                    raise  # not ours: the caller was cancelled
                uncancel = getattr(task, "uncancel", None)  # Python >= 3.11
                if uncancel is not None and uncancel() > 0:
                    raise  # cancelled by someone else as well
                raise self._end_error() from None
            finally:
                self._putter = None
        if self.stopping and not self._completed():
            raise self._end_error()

    def push_nowait(self, item: Any) -> None:
        if self.batch.count >= self._queue_limit or self.batch.size >= MAX_BYTES:
            raise asyncio.QueueFull(f"EventQueue is full ({self.batch.count} items unsent)")
        if not self.batch:
            self.batch.started = time.perf_counter()
        self.batch.add(item)
        self.kick()

    def source_closed(self) -> None:
        if self.pump_waiting and self.runner is not None:
            self.runner.wake_pump()

    async def close_source(self) -> None:
        """Close the source so its ``finally`` runs, even when we were cancelled; once."""
        aclose = getattr(self._pulled, "aclose", None)
        self._pulled = None
        if aclose is None:
            return
        timeout = self.options.cleanup_timeout
        try:
            with anyio.CancelScope(shield=True), anyio.move_on_after(timeout) as bounded:
                await aclose()
            if bounded.cancelled_caught:
                logger.warning(
                    "the event source did not finish closing within cleanup_timeout (%s s): "
                    "it was cancelled",
                    timeout,
                )
        except Exception as exc:
            if self.error is None:
                self.error = exc
            else:  # the source's own error is the one raised; its cleanup's is logged
                logger.error("the event source failed while closing", exc_info=exc)
