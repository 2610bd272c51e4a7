"""Writing an event into a stream from another task: the fan-out's push path.

A source whose type has ``__sse_attach__(source, stream)`` is told which stream pulls
it before it is iterated (the broker's ``Subscription``). While that stream's pump
waits in the source, a publisher can call :func:`write_now` to write the next event's
frame itself, so ten thousand subscribers cost ten thousand sends in the publisher's
task, not ten thousand task wake-ups. A stream that cannot take it now (a write under
way, items or a ping waiting, another event loop than asyncio) says no, and the
source yields the event to its pump as usual.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from .runners import AsyncioRunner

if TYPE_CHECKING:
    from .stream import EventStream

__all__ = ["write_now"]


def write_now(stream: EventStream, frame: bytes) -> bool:
    """Write ``frame`` through ``stream`` from the calling task, if nothing is before it.

    ``frame`` must be what the stream would send for the item (framed with its
    ``options.sep``, after its ``options.convert``). True when the frame is sent or on
    its way: a send that does not complete at once goes on in a task of the stream (its
    flusher, which stopping the stream cancels), so the caller never waits for one
    client. False, with nothing done, when the stream is writing, has unsent items or a
    due ping, is stopping, or does not run on asyncio: the event must then come through
    the source.
    """
    runner = stream.runner
    if (
        stream.writing
        or stream.stopping
        or stream.batch.count
        or stream.ping_due
        or type(runner) is not AsyncioRunner
    ):
        return False
    flush = stream.flush(frame)
    try:
        signal = flush.send(None)
    except StopIteration:
        return True
    # A flusher task not started yet (nothing left for it to write) may be replaced.
    runner.flusher = runner.loop.create_task(_Resumed(flush, signal))
    return True


_STARTED: Any = object()


class _Resumed(Coroutine[Any, Any, None]):
    """A coroutine that suspended once outside any task, run on by a task.

    The task's first step gets the value the coroutine suspended on; everything else,
    a cancellation before that first step included, goes to the coroutine itself.
    """

    __slots__ = ("coroutine", "signal")

    def __init__(self, coroutine: Coroutine[Any, Any, None], signal: Any) -> None:
        self.coroutine = coroutine
        self.signal = signal

    def send(self, value: Any) -> Any:
        signal = self.signal
        if signal is not _STARTED:
            self.signal = _STARTED
            return signal
        return self.coroutine.send(value)

    def throw(self, *exc_info: Any) -> Any:
        self.signal = _STARTED
        return self.coroutine.throw(*exc_info)

    def close(self) -> None:
        self.coroutine.close()

    def __await__(self) -> Any:
        return self  # awaiting it drives it by send, throw and next

    def __next__(self) -> Any:
        return self.send(None)
