"""StartedStream: an EventQueue's stream that needs no task while it is open (asyncio).

:meth:`EventStream.start` makes every ``put`` write itself; what is left is the end of
the stream: once the queue is closed or the stream stopped (the client left, a send
timed out, the grace period ended: the farewell), a started stream runs itself to that
end in one task of its own, made only then, so an idle stream holds no coroutine frame
of the engine. :meth:`run_to_end`
gives that task to whoever waits for the end; :meth:`send_timed_out` is the hook for
what a server must do with a client that stopped reading.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .outcome import Outcome, SendTimeoutError
from .stream import EventStream
from .writer import Send

__all__ = ["StartedStream"]


class StartedStream(EventStream):
    """An :class:`EventStream` that, once started, ends itself.

    After :meth:`start`, closing the queue or stopping the stream (for any reason) runs
    the rest of :meth:`run` in a task (see :meth:`run_to_end`). Its source need not be
    a queue when :meth:`run` is awaited instead, as for any stream.
    """

    __slots__ = ("_ended",)

    def __init__(self, source: Any, **kwargs: Any) -> None:
        super().__init__(source, **kwargs)
        self._ended: asyncio.Task[Outcome | None] | None = None

    def run_to_end(self) -> asyncio.Task[Outcome | None]:
        """The task that runs the started stream to its end, made on the first call: it
        waits for what was put to be written, sends the farewell when draining, ends the
        body and reports how the stream ended (None: a send timed out, which
        :meth:`send_timed_out` was told of). Other errors are the task's exception."""
        if self._ended is None:
            if self._send is None:
                raise RuntimeError("run_to_end() ends a started stream: start() it first")
            self._ended = asyncio.get_running_loop().create_task(self._run_started())
        return self._ended

    async def _run_started(self) -> Outcome | None:
        assert self._send is not None
        if self._end is None:
            self._end = self.body_end()
        try:
            return await self.run(self._send, end=self._end)
        except SendTimeoutError:
            return None

    def body_end(self) -> Send | None:
        """The ``end`` of :meth:`run` when :meth:`start` was given none: asked for only as
        the stream runs to its end, so an idle stream holds no callable for it. None by
        default: the body is then left for the caller to end."""
        return None

    def send_timed_out(self) -> None:
        """Called once, as the stream stops, when a send stalled for ``send_timeout``: the
        client stopped reading. Override it to release the connection (the default does
        nothing). The stalled write has been interrupted but has not raised yet: defer
        an abort of the transport to the loop's next turn, so that the writer raises
        :class:`SendTimeoutError` before the server notices the connection lost."""

    def stop(self) -> None:
        if self.stopping:
            return
        super().stop()
        if self.timed_out:
            self.send_timed_out()
        if not self.pump_running and self._send is not None:  # started, and not run
            self.run_to_end()

    def source_closed(self) -> None:
        super().source_closed()
        if not self.pump_running and self._send is not None:
            self.run_to_end()  # the rest of what was put, then the end of the body
