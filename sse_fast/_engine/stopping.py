"""What ends a stream before its source does, and stopping every part of it, once.

The client leaves (the disconnect watcher hears it, or the transport calls
:meth:`Stopping.client_left`), a send stalls past ``send_timeout``, the server shuts
down (a grace period, then the stream is drained) or a part fails: each sets how the
stream ended and calls :meth:`Stopping.stop`, which interrupts the pump, a putter's
write and the runner's tasks. The clock's timer lands in :meth:`Stopping.on_clock`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import anyio

from .clock import Due
from .outcome import Outcome, SendTimeoutError
from .state import StreamState

__all__ = ["Stopping"]


class Stopping(StreamState):
    """The ending side of :class:`~.stream.EventStream` (a base class of it)."""

    if not TYPE_CHECKING:  # EventStream declares the slots
        __slots__ = ()

    def client_left(self) -> None:
        """The client has gone (the disconnect watcher heard it, or the transport said so
        by a callback). During the end of the body, that send first gets
        :attr:`Clock.END_GRACE <.clock.Clock.END_GRACE>` to return: some servers report
        their own end of the body as a departure, from inside it."""
        if not self.ending:
            self._disconnected()
        elif not self.body_ended and self.runner is not None:
            self.clock.left_during_end(self.runner.now())  # maybe in a loop callback
            self.runner.arm()

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
            putter = self._putter
            if isinstance(putter, anyio.CancelScope):
                putter.cancel()
            elif putter is not None and putter is not asyncio.current_task():
                self._putter = None  # tells the putter that the cancellation is ours
                putter.cancel()
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
        elif due & Due.END_STALLED:
            if not self.body_ended:
                self._disconnected()
        elif due & Due.PING:
            self.ping_due = True
            self.kick()

    def _completed(self) -> bool:
        return self.outcome is Outcome.COMPLETED

    def _disconnected(self) -> None:
        if self.outcome is None:
            self.outcome = Outcome.DISCONNECTED
        self.stop()
