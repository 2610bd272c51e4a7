"""An EventQueue feeding a stream: its puts write through, or join the write under way.

A ``put`` runs in the putter's task: when no write is under way (and the runner does
not know of a few made this turn of the loop), it writes what it put at once; otherwise
the item joins the batch and leaves with the next write. The queue is bounded by the
batch's room, so a full stream makes ``put`` wait (backpressure) and ``put_nowait``
raise. When the stream runs with a pump (:meth:`EventStream.run`), the pump only waits
for these writes to end.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import anyio

from .batch import MAX_AGE, MAX_BYTES, MAX_EVENTS
from .parts import taken_back
from .state import StreamState

if TYPE_CHECKING:
    from .queue import EventQueue

__all__ = ["QueueConsumer"]


class QueueConsumer(StreamState):
    """The EventQueue side of :class:`~.stream.EventStream` (a base class of it): what
    :class:`~.queue.EventQueue` calls on the stream it feeds."""

    if not TYPE_CHECKING:  # EventStream declares the slots
        __slots__ = ()

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
        try:
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
                    if not taken_back(task, self._putter is not task and self.stopping):
                        raise  # the caller was cancelled
                    raise self._end_error() from None
                finally:
                    self._putter = None
        except BaseException:
            if not self.stopping:  # the putter's own caller cancelled it: the stream goes on
                self.send_interrupted = False
            raise
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
