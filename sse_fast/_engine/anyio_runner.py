"""The runner on backends other than asyncio (trio), through anyio.

An anyio task group holds the disconnect watcher, the background task and the clock
task, which sleeps in a cancel scope whose deadline is moved when a deadline changes
(a send in flight, a ping, the grace period, a batch to flush): no polling, and the
watcher's ``receive()`` is never cancelled and re-issued.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

from .parts import Parts, Pump, Receive, WaitDisconnect, wait_disconnect_of

if TYPE_CHECKING:
    from .stream import EventStream

__all__ = ["AnyioRunner"]


class AnyioRunner(Parts):
    """trio (through anyio): a task group; the clock task also writes when kicked."""

    loop = None  # no asyncio tasks: a putter's write is interrupted by its cancel scope

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream
        self.group: anyio.CancelScope | None = None
        self.start_soon: Callable[[Callable[[], Awaitable[None]]], object] = _not_started
        self.clock_scope: anyio.CancelScope | None = None
        self.kicked = anyio.Event()
        self.flush_at = math.inf
        self.pump_wakeup: anyio.Event | None = None
        self.writer_event: anyio.Event | None = None

    async def run(
        self, pump: Pump, wait_disconnect: WaitDisconnect | None, receive: Receive | None
    ) -> None:
        """Run the pump in this task, the other parts in a task group, to the end."""
        stream = self.stream
        if receive is not None:
            wait_disconnect = wait_disconnect_of(receive)
        async with anyio.create_task_group() as group:
            self.group = group.cancel_scope
            self.start_soon = group.start_soon  # type: ignore[assignment]
            if wait_disconnect is not None:
                group.start_soon(self.watch, wait_disconnect)
            if stream.background is not None:
                group.start_soon(self.run_background, stream.background)
            stream.clock.start(anyio.current_time())
            if stream.shutdown_begun:
                self.begin_grace()
            group.start_soon(self._clock_task)
            try:
                await pump()
            except Exception as exc:  # a bad item, a failed write: run() raises it
                stream.fail(exc)
            finally:
                stream.stop()

    def stop(self) -> None:
        if self.group is not None:
            self.group.cancel()
        self.wake_pump()
        self.room_made()

    async def _clock_task(self) -> None:
        stream = self.stream
        while not stream.stopping:
            self.kicked = anyio.Event()
            at = self._next_at()
            with anyio.CancelScope(deadline=at) as scope:
                self.clock_scope = scope
                await self.kicked.wait()
            self.clock_scope = None
            now = anyio.current_time()
            if now >= self.flush_at:
                self.flush_at = math.inf
            stream.on_clock(now, scope.deadline)  # as moved by arm() meanwhile
            if stream.timed_out and stream.writing:
                # Some servers shield their sends (hypercorn on trio): the pump stays in
                # its stalled send, but the source's finally runs now.
                with anyio.CancelScope(shield=True):
                    await stream.close_source()
                return
            if not stream.writing and (stream.batch or stream.ping_due):
                self.start_soon(stream.flush)  # not here: a stalled write would stop the clock

    def _next_at(self) -> float:
        return min(self.stream.clock.next_check(), self.flush_at)

    def arm(self) -> None:
        if self.clock_scope is not None:
            self.clock_scope.deadline = self._next_at()

    def turn(self) -> int:
        return 0  # no cheap way to count trio's turns: the pump times the source instead

    def wrote(self) -> None:
        self.flush_at = math.inf

    def wrote_this_turn(self) -> bool:
        return False

    def flush_later(self, at: float) -> None:
        if math.isinf(self.flush_at):
            self.flush_at = at - _perf_offset()
            self.arm()

    def start_flusher(self) -> None:
        self.kicked.set()

    async def wait_pump(self) -> None:
        self.pump_wakeup = wakeup = anyio.Event()
        await wakeup.wait()

    def wake_pump(self) -> None:
        if self.pump_wakeup is not None:
            self.pump_wakeup.set()
            self.pump_wakeup = None

    async def wait_for_writer(self) -> None:
        if self.writer_event is None:
            self.writer_event = anyio.Event()
        await self.writer_event.wait()

    def room_made(self) -> None:
        if self.writer_event is not None:
            self.writer_event.set()
            self.writer_event = None

    writer_done = room_made

    def now(self) -> float:
        return anyio.current_time()

    def send_started(self) -> None:
        self.stream.clock.send_started = anyio.current_time()
        self.arm()

    def begin_grace(self) -> None:
        self.stream.clock.begin_grace(
            anyio.current_time(), self.stream.options.shutdown_grace_period
        )
        self.arm()
        self.kicked.set()  # look at the clock now


def _not_started(function: Callable[[], Awaitable[None]]) -> None:
    raise RuntimeError("the stream is not running")


def _perf_offset() -> float:
    """``time.perf_counter()`` minus the backend's clock (the pump stamps batches with
    the former; trio's deadlines use the latter)."""
    return time.perf_counter() - anyio.current_time()
