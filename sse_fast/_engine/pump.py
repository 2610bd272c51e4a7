"""The pump: pulling the stream's source into its batch, and closing the source.

It runs in the task that called :meth:`EventStream.run`. When the writer is idle it
writes before the source is resumed; items made in a fast synchronous run of the source
are buffered and leave together. An EventQueue source is served by
:mod:`.queue_consumer` (its puts write themselves); the pump then only waits.
"""

from __future__ import annotations

import time
import types
from collections.abc import AsyncIterable, Awaitable, Generator, Iterable
from typing import TYPE_CHECKING, Any

import anyio

from .._framing import ServerSentEvent, encode_many
from .batch import MAX_AGE, MAX_BYTES, MAX_EVENTS
from .queue import EventQueue
from .state import StreamState
from .threads import ThreadedSource

__all__ = ["SLOW_STEP", "Pump", "check_source"]

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


class Pump(StreamState):
    """The source side of :class:`~.stream.EventStream` (a base class of it)."""

    if not TYPE_CHECKING:  # EventStream declares the slots
        __slots__ = ()

    def pump(self) -> Awaitable[None]:
        """The pump of this stream's source, which EventStream.run() awaits: one
        coroutine frame while the stream idles, the source's own below it."""
        source = self._source
        if isinstance(source, EventQueue):
            return self._pump_queue(source)
        if isinstance(source, list | tuple):
            return self._pump_items(source)
        if isinstance(source, AsyncIterable):
            attach = getattr(type(source), "__sse_attach__", None)
            if attach is not None:  # a source that may be written through: see push.py
                attach(source, self)
            # An async iterable need not be its own iterator (a broker Subscription
            # is not): pull from, and close, what __aiter__ gives.
            source = source.__aiter__()
        else:
            source = ThreadedSource(iter(source), self.options.thread_limiter)
        self._pulled = source
        return self._pull(source)

    async def _pump_queue(self, queue: EventQueue) -> None:
        await self._serve_queue(queue)
        await self._finish(shutting_down=self.shutdown_begun)

    async def _pump_items(self, items: list[Any] | tuple[Any, ...]) -> None:
        try:
            for item in items:
                self.batch.add(item)
                if self.batch.full:
                    await self.flush()
        except Exception as exc:  # a bad item: raised by run() once what came before is sent
            self.error = exc
        await self._finish(shutting_down=self.shutdown_begun)

    # A generator-based coroutine, so that the rest of a step that suspended is driven
    # from this frame: no awaitable and no frame of ours per step beside it.
    @types.coroutine
    def _pull(self, source: Any) -> Generator[Any, Any, None]:
        """Pull the source until it ends, close it, and end the stream (one frame).

        The pump starts each step of the source itself: a step that completes without
        suspending costs no awaitable. A step that suspends is driven as ``await`` would
        (every value yielded to the event loop, and what comes back sent or thrown into
        it), after what the source made in its fast run was handed to the writer.
        """
        batch, perf_counter = self.batch, time.perf_counter
        next_step = source.__anext__
        sep = self.options.sep
        first = True
        # A step is timed from the end of the previous one (one clock read per item),
        # or from the end of a write, which took its own time.
        started = perf_counter()
        try:
            while not self.stopping:
                try:
                    step = next_step().__await__()
                    try:
                        signal = step.send(None)  # as ``await`` starts it
                    except StopIteration as done:
                        item, suspended = done.value, False
                    else:
                        suspended = True
                        if batch.count and not self.writing:
                            self.kick()  # the source waits for something: the batch leaves now
                        while True:
                            try:
                                value = yield signal
                            except BaseException as exc:  # noqa: PERF203 (the step handles it)
                                try:
                                    signal = step.throw(exc)
                                except StopIteration as done:
                                    item = done.value
                                    break
                            else:
                                if value is None:  # asyncio's: the rest as ``await`` does it
                                    item = yield from step
                                    break
                                try:
                                    signal = step.send(value)
                                except StopIteration as done:
                                    item = done.value
                                    break
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    self.error = exc  # raised by run() once what came before is sent
                    break
                if self.writing:  # a flusher is writing: it takes this too
                    now = perf_counter()
                    if not batch.count:
                        batch.started = now
                    batch.add(item)
                    if batch.count >= MAX_EVENTS or batch.size >= MAX_BYTES:
                        yield from self.runner.wait_for_writer().__await__()  # type: ignore[union-attr]
                        now = perf_counter()
                    started = now
                    continue
                now = 0.0 if suspended else perf_counter()  # a step that suspended is timed no more
                write_now = first or suspended or now - started >= SLOW_STEP
                first = False
                if (
                    write_now
                    and not batch.count
                    and not self.ping_due
                    and type(item) is str
                    and batch.frame is None  # a stream with its own framing frames str too
                ):
                    # One event after a pause: framed and written at once, no batch.
                    self.writing = True
                    try:
                        yield from self.write(encode_many([item], sep)).__await__()
                    finally:
                        self.writing = False
                    self.clock.writes += 1
                    started = perf_counter()
                    continue
                if not batch.count:
                    batch.started = now or perf_counter()
                batch.add(item)
                if (
                    write_now
                    or batch.count >= MAX_EVENTS
                    or batch.size >= MAX_BYTES
                    or now - batch.started >= MAX_AGE
                ):
                    yield from self.flush().__await__()
                    now = perf_counter()
                started = now
        except Exception as exc:  # a bad item: raised by run(), before the source's own
            if self.error is None:
                self.error = exc
        finally:
            yield from self.close_source().__await__()
        yield from self._finish(shutting_down=self.shutdown_begun).__await__()

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
            if bounded.cancel_called:  # cut off, even if the source swallowed it
                self.options.logger.warning(
                    "the event source did not finish closing within cleanup_timeout (%s s): "
                    "it was cancelled",
                    timeout,
                )
        except Exception as exc:
            if self.error is None:
                self.error = exc
            else:  # the source's own error is the one raised; its cleanup's is logged
                self.options.logger.error("the event source failed while closing", exc_info=exc)
