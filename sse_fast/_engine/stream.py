"""EventStream: one connection's events from a source to a transport.

The caller's task runs the *pump* (:mod:`.pump`): it pulls the source and, when the
writer (:mod:`.writer`) is idle, writes what the source made before resuming it; an
EventQueue's puts write themselves (:mod:`.queue_consumer`). One task waits for the
client to leave; one timer (the clock) serves pings, the send timeout and the grace
period; :mod:`.stopping` ends the stream. See :mod:`.runners` for the per-backend
parts. This module builds the stream, runs it to its end and reports how it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from .batch import Batch, FramingBatch
from .clock import Clock
from .options import StreamOptions
from .outcome import Outcome, SendTimeoutError
from .parts import Receive, WaitDisconnect
from .pump import Pump, check_source
from .queue import EventQueue
from .queue_consumer import QueueConsumer
from .runners import AsyncioRunner, Runner, runner_for
from .shutdown import Shutdown, current_shutdown
from .stopping import Stopping
from .writer import Send, Writer

__all__ = ["EventStream", "Outcome", "SendTimeoutError", "check_source"]


_CLEANUP_TIMEOUT = 1.0


class EventStream(Pump, QueueConsumer, Writer, Stopping):
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
    and is cancelled when it ends. ``frame(item) -> bytes``, if given, frames every item
    of an iterable source instead (``str`` included; its errors end the stream as a bad
    item's do).
    """

    # Thousands of idle streams per process: no instance dict.
    __slots__ = (
        "_end",
        "_farewell_started",
        "_on_disconnect",
        "_pulled",
        "_putter",
        "_queue_limit",
        "_registered",
        "_send",
        "_shutdown",
        "_shutdown_event",
        "_source",
        "background",
        "batch",
        "body_ended",
        "clock",
        "disconnect_message",
        "draining",
        "ending",
        "error",
        "options",
        "outcome",
        "ping_due",
        "pump_running",
        "pump_waiting",
        "runner",
        "send_interrupted",
        "shutdown_begun",
        "stopping",
        "timed_out",
        "writing",
    )

    def __init__(
        self,
        source: Any,
        *,
        options: StreamOptions | None = None,
        shutdown: Shutdown | None = None,
        shutdown_event: Any = None,
        on_disconnect: Callable[[object], Awaitable[object]] | None = None,
        background: Callable[[], Awaitable[object]] | None = None,
        frame: Callable[[Any], bytes] | None = None,
        **option_values: Any,
    ) -> None:
        check_source(source)
        if frame is not None and (
            isinstance(source, EventQueue) or hasattr(type(source), "__sse_attach__")
        ):
            raise TypeError(  # their items can reach the writer without passing the batch
                f"frame is for a source the stream pulls, not for {type(source).__name__}"
            )
        self.options = options = options if options is not None else StreamOptions(**option_values)
        self._source = source
        self._pulled: Any = None  # the async iterator being pulled, until closed
        self._shutdown = shutdown
        self._shutdown_event = shutdown_event
        self._on_disconnect = on_disconnect
        self.background = background
        if frame is None:
            self.batch = Batch(options.sep, options.convert)
        else:
            self.batch = FramingBatch(options.sep, frame)
        self.clock = Clock(
            options.ping, options.send_timeout, ping_idle_only=options.ping_idle_only
        )
        self.runner: Runner | None = None
        self._send: Send | None = None
        self._end: Send | None = None
        self.writing = False
        self.ping_due = False
        self.stopping = False
        self.pump_waiting = False  # the pump waits for a wake-up (queue, or the writer)
        self.pump_running = False
        self._registered: Shutdown | None = None
        self._queue_limit = 0
        # A put() writing through: its task (asyncio) or its cancel scope (trio).
        self._putter: asyncio.Task[Any] | anyio.CancelScope | None = None
        self.outcome: Outcome | None = None
        self.ending = False  # the end callback is under way
        self.body_ended = False  # the end callback was sent
        self.send_interrupted = False  # a send was cut off before it returned
        self.error: BaseException | None = None
        self.timed_out = False
        self.shutdown_begun = False
        self.draining = False  # the grace period is over: everything is being stopped
        self._farewell_started = False
        self.disconnect_message: object = None

    # ------------------------------------------------------------ running

    async def run(
        self,
        send: Send,
        wait_disconnect: WaitDisconnect | None = None,
        *,
        end: Send | None = None,
        receive: Receive | None = None,
    ) -> Outcome:
        """Stream until the source ends, the client leaves or the server shuts down.

        ``send(data)`` writes to the client and raises ``OSError`` once it has gone;
        ``wait_disconnect()`` returns when the client has left, or else ``receive`` is an
        ASGI ``receive()``, read until ``http.disconnect``. ``end(data)``, if given,
        writes ``data`` and ends the body, in one write (used for the last events).
        Raises :class:`SendTimeoutError` when a write stalls, and what the source raised
        after sending what it made before.
        """
        shutdown = self._set_up(send, end)
        runner = self.runner
        assert runner is not None
        self.pump_running = True
        try:
            if isinstance(runner, AsyncioRunner):
                # The pump runs in this coroutine's frame: an idle stream's engine is one
                # coroutine (and its source's), the other parts are callbacks and a timer.
                runner.begin(wait_disconnect, receive)
                try:
                    await self.pump()
                except asyncio.CancelledError:
                    if not runner.cancel_taken_back():
                        raise  # the caller was cancelled
                except Exception as exc:  # a bad item, a failed write: raised below
                    self.fail(exc)
                finally:
                    pending = runner.finish()
                    if pending:  # every part has ended (the source's finally ran) first
                        with anyio.CancelScope(shield=True):
                            await asyncio.wait(pending)
            else:
                await runner.run(self.pump, wait_disconnect, receive)
            if self.draining and self.outcome is None:
                with anyio.move_on_after(_CLEANUP_TIMEOUT):  # the source made it; then bye
                    await self._finish(shutting_down=True)
        except anyio.get_cancelled_exc_class():
            if self.error is not None:  # it cannot be raised now: not lost either
                self.options.logger.error(
                    "the stream was cancelled after an error", exc_info=self.error
                )
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
                self._source.end(self._end_error(), self)
        if self.timed_out:
            raise SendTimeoutError(f"a send did not complete within {self.options.send_timeout} s")
        if self.outcome is Outcome.DISCONNECTED and self._on_disconnect is not None:
            await self._on_disconnect(self.disconnect_message)
        if self.error is not None:
            raise self.error
        return self.outcome or Outcome.SHUTDOWN

    def _set_up(self, send: Send, end: Send | None) -> Shutdown:
        if self._registered is None:
            self._send, self._end = send, end
            self.runner = runner_for(self)
            self._registered = self._shutdown if self._shutdown is not None else current_shutdown()
            self._registered.register(self)
        return self._registered

    def start(self, send: Send, *, end: Send | None = None) -> None:
        """Stream an EventQueue source with no task (asyncio): from now on each ``put``
        writes itself, and the timer sends pings and times sends. :meth:`run` (with the
        same ``send``) later waits for the end, closes the stream and reports it."""
        if not isinstance(self._source, EventQueue):
            raise TypeError("start() streams an EventQueue: await run() for other sources")
        self._set_up(send, end)
        if not isinstance(self.runner, AsyncioRunner):
            raise RuntimeError("start() needs asyncio: await run() instead")
        self.attach_queue(self._source)
        self.runner.start()

    @property
    def can_end_body(self) -> bool:
        """Whether the caller may still end the body: the stream did not, and no send
        was cut off in the middle (one after it would stall as well)."""
        return not (self.body_ended or self.send_interrupted)
