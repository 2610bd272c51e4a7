"""The writer: the batch (and a due ping) to the transport, one write at a time.

Whoever finds the writer idle writes: the pump, a putter, or (for what was buffered
when the source suspended, and for pings) a short-lived flusher task, which
:meth:`Writer.kick` starts. It also ends the body, with the last events.
"""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .outcome import Outcome
from .state import StreamState

__all__ = ["Writer", "is_disconnect"]

Send = Callable[[bytes], Awaitable[None]]
_DISCONNECT_ERRNOS = {errno.EPIPE, errno.ECONNRESET, errno.ECONNABORTED, errno.ENOTCONN,
                      errno.ESHUTDOWN, errno.ETIMEDOUT}  # fmt: skip


def is_disconnect(exc: OSError) -> bool:
    """ASGI servers raise a subclass of ``OSError`` of their own (no errno) once the
    client left (ASGI 2.4); another ``OSError`` (a full disk, too many files, a plain
    ``OSError``) is an error, raised as such."""
    if isinstance(exc, ConnectionError) or exc.errno in _DISCONNECT_ERRNOS:
        return True
    return exc.errno is None and type(exc) is not OSError


class Writer(StreamState):
    """The transport side of :class:`~.stream.EventStream` (a base class of it)."""

    if not TYPE_CHECKING:  # EventStream declares the slots
        __slots__ = ()

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

    def kick(self) -> None:
        """There is something to write: have it written now if nobody is writing."""
        if self.writing or self.stopping or self.runner is None:
            return
        if self.pump_waiting:
            self.runner.wake_pump()
        else:
            self.runner.start_flusher()

    async def flush(self, frame: bytes = b"") -> None:
        """Write ``frame`` (an event's, made while the batch was empty and no ping was
        due), then the batch and a due ping until nothing is left; one writer at a time."""
        if self.writing:
            return
        self.writing = True
        try:
            if frame:
                self.clock.writes += 1
                await self.write(frame)
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
        clock = self.clock
        if clock.send_timeout is not None:
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
            self._disconnected()
            return False
        except BaseException:
            self.send_interrupted = True  # cut off mid-send: nothing may follow it
            raise
        finally:
            clock.send_started = None
        # Only putters (asyncio) and trio's clock task need to hear of a write: not
        # a call per event for a pump that writes what it pulled.
        if self.pump_waiting or not self.pump_running or runner.loop is None:
            runner.wrote()
        return True

    async def _finish(self, *, shutting_down: bool) -> None:
        """The source is done (or cut off by shutdown): its last events leave now, with
        the farewell when shutting down, then the end of the body. Not after a send
        that was cut off (it stalled): a write behind it would stall as well."""
        assert self.runner is not None
        if self.send_interrupted:
            return
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
