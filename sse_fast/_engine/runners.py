"""The per-backend parts of a stream: tasks, the timer, wake-ups.

On asyncio (:class:`AsyncioRunner`): plain tasks and one ``TimerHandle``; a callback
scheduled with ``call_soon`` counts the loop's turns, so the pump can tell a source that
suspended from one that made items in a synchronous run, and buffered items are written
as soon as the source suspends. On other backends (trio, :class:`AnyioRunner`): an anyio
task group; the clock is a task sleeping in a cancel scope whose deadline is moved.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
import math
from typing import TYPE_CHECKING, Any

from .anyio_runner import AnyioRunner
from .parts import Listener, Parts, Receive, WaitDisconnect, taken_back

if TYPE_CHECKING:
    from .stream import EventStream

__all__ = ["AnyioRunner", "AsyncioRunner", "Runner", "runner_for"]

# Writes a put may make without a tick behind them, after a tick that nothing was batched behind.
UNTICKED_WRITES = 3

# anyio imports its asyncio backend on first use (~50 ms): on the first stream of a fresh
# worker that held back an event. It is imported with the engine instead.
with contextlib.suppress(ImportError):
    importlib.import_module("anyio._backends._asyncio")


class AsyncioRunner(Parts, Listener):
    __slots__ = (
        "context",
        "flusher",
        "free_writes",
        "listener",
        "loop",
        "pump_task",
        "pump_wakeup",
        "receive",
        "started",
        "stream",
        "tasks",
        "tick_pending",
        "timer",
        "timer_at",
        "turns",
        "turns_at_write",
        "writer_event",
    )

    def __init__(self, stream: EventStream, loop: asyncio.AbstractEventLoop) -> None:
        self.stream = stream
        self.loop = loop
        # One copy of the request's context for the timer and the listener (each would
        # copy it again, per timer armed).
        self.context = contextvars.copy_context()
        self.tasks: tuple[asyncio.Future[Any], ...] = ()  # no list per stream: most have none
        self.flusher: asyncio.Task[None] | None = None
        self.listener: asyncio.Future[Any] | None = None  # the ASGI receive() under way
        self.receive: Receive | None = None
        self.pump_task: asyncio.Task[object] | None = None
        self.started = False
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = math.inf
        self.turns = 0
        self.turns_at_write = -1
        self.tick_pending = False
        self.free_writes = 0
        self.pump_wakeup: asyncio.Future[None] | None = None
        self.writer_event: asyncio.Future[None] | None = None

    def start(self) -> None:
        """The timer and the background task; the pump may come later (EventStream.start)."""
        if self.started:
            return
        self.started = True
        stream, loop = self.stream, self.loop
        if stream.background is not None:
            self.tasks += (loop.create_task(self.run_background(stream.background)),)
        stream.clock.start(loop.time())
        if stream.shutdown_begun:
            self.begin_grace()
        self.arm()

    def begin(self, wait_disconnect: WaitDisconnect | None, receive: Receive | None) -> None:
        """Start the parts beside the pump, which EventStream.run() then runs in its task."""
        if receive is not None:
            self.listen(receive)
        elif wait_disconnect is not None:
            self.tasks += (self.loop.create_task(self.watch(wait_disconnect)),)
        self.start()
        # No cancel scope (an idle stream's largest part of the engine after its frames):
        # stop() cancels this task, and clears pump_task to say the cancellation is its.
        self.pump_task = asyncio.current_task(self.loop)

    def cancel_taken_back(self) -> bool:
        """The pump's task was cancelled: whether by stop() alone (the stream goes on to
        its end) rather than by the caller's canceller (the cancellation propagates)."""
        ours = self.pump_task is None and self.stream.stopping
        return taken_back(asyncio.current_task(self.loop), ours)

    def finish(self) -> list[asyncio.Future[Any]]:
        """The pump has returned: stop every part; the tasks still to wait for."""
        self.pump_task = None
        self.stream.stop()
        parts = (*self.tasks, self.flusher, self.listener)
        return [task for task in parts if task is not None and not task.done()]

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        pump_task = self.pump_task
        # The pump stopping itself needs no cancellation: it sees `stopping` as it returns.
        if pump_task is not None and pump_task is not asyncio.current_task(self.loop):
            self.pump_task = None
            pump_task.cancel()
        for task in self.tasks:
            task.cancel()
        if self.listener is not None:
            self.listener.cancel()
        if self.flusher is not None:
            self.flusher.cancel()
        self.wake_pump()
        self.room_made()

    # ---------------------------------------------------------- turns of the loop

    def turn(self) -> int:
        """The loop's turn count, making sure the next turn is counted."""
        if not self.tick_pending:
            self.tick_pending = True
            self.loop.call_soon(self._tick)
        return self.turns

    def _tick(self) -> None:
        self.tick_pending = False
        self.turns += 1
        # No put was batched behind this tick (-1): the next few writes need none.
        self.free_writes = UNTICKED_WRITES if self.free_writes == 0 else 0
        stream = self.stream
        if stream.batch and not stream.writing and stream.putters_write:
            stream.kick()  # the queue's putters went on to other things, with events put

    def wrote(self) -> None:
        """A write while putters write (an EventQueue's): write() calls this then only."""
        # Once the tick is pending, later puts this turn are batched and the tick writes
        # them. A loop callback per write would cost a sender of one event per turn
        # more than the write: after a tick that no put was batched behind, the next
        # UNTICKED_WRITES writes schedule none (a burst after them is batched later).
        if self.free_writes > 0 and not self.tick_pending:
            self.free_writes -= 1
            return
        self.turns_at_write = self.turn()

    def wrote_this_turn(self) -> bool:
        if self.tick_pending and self.turns == self.turns_at_write:
            self.free_writes = -1  # puts come in bursts: a tick after every write
            return True
        return False

    def flush_later(self, at: float) -> None:
        pass  # the next tick flushes (turn() was called before the source was resumed)

    # ---------------------------------------------------------- wake-ups

    def start_flusher(self) -> None:
        if self.flusher is None or self.flusher.done():
            self.flusher = self.loop.create_task(self.stream.flush())

    async def wait_pump(self) -> None:
        self.pump_wakeup = wakeup = self.loop.create_future()
        await wakeup

    def wake_pump(self) -> None:
        wakeup, self.pump_wakeup = self.pump_wakeup, None
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    async def wait_for_writer(self) -> None:
        if self.writer_event is None:
            self.writer_event = self.loop.create_future()
        await self.writer_event

    def room_made(self) -> None:
        event, self.writer_event = self.writer_event, None
        if event is not None and not event.done():
            event.set_result(None)

    def writer_done(self) -> None:
        flusher = self.flusher
        # A finished flusher would be held, with its coroutine, until the next flush.
        if flusher is not None and flusher is asyncio.current_task(self.loop):
            self.flusher = None
        if self.writer_event is not None:
            self.room_made()
        if self.pump_wakeup is not None:
            self.wake_pump()  # a pump that waited for this write to end (a closed queue)

    # ---------------------------------------------------------- the clock

    def arm(self) -> None:
        at = math.inf if self.stream.stopping else self.stream.clock.next_check()
        if at == self.timer_at:
            return
        if self.timer is not None:
            self.timer.cancel()
        self.timer_at = at
        if not math.isinf(at):
            # The runner is the timer's callback: no bound method per idle stream.
            self.timer = self.loop.call_at(at, self, context=self.context)
        else:
            self.timer = None

    def _on_timer(self) -> None:
        armed_for, self.timer_at, self.timer = self.timer_at, math.inf, None
        self.stream.on_clock(self.loop.time(), armed_for)
        if not self.stream.stopping:
            self.arm()

    __call__ = _on_timer

    def send_started(self) -> None:
        clock = self.stream.clock
        now = clock.send_started = self.loop.time()
        if self.timer_at > now + clock.send_timeout:  # type: ignore[operator]
            self.arm()

    def now(self) -> float:
        return self.loop.time()

    def begin_grace(self) -> None:
        self.stream.clock.begin_grace(self.loop.time(), self.stream.options.shutdown_grace_period)
        if not self.stream.stopping:
            self.arm()


Runner = AsyncioRunner | AnyioRunner  # the same duck-typed interface


def runner_for(stream: EventStream) -> Runner:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # another backend: trio
        return AnyioRunner(stream)
    return AsyncioRunner(stream, loop)
