"""What the parts of an :class:`~.stream.EventStream` share, declared once.

The stream is one object (thousands of idle streams per process: no instance dict, no
object per part); its jobs live in base classes (:mod:`.pump`, :mod:`.queue_consumer`,
:mod:`.writer`, :mod:`.stopping`), which all read and set this state. EventStream
declares the slots; this class tells the type checker what they hold.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import anyio

if TYPE_CHECKING:
    from .batch import Batch
    from .clock import Clock
    from .options import StreamOptions
    from .outcome import Outcome
    from .queue import EventQueue
    from .runners import Runner
    from .writer import Send

__all__ = ["StreamState"]


class StreamState:
    """The state of one stream, shared by its parts (a base class of each)."""

    if not TYPE_CHECKING:  # EventStream declares the slots (mypy looks for them here)
        __slots__ = ()

    batch: Batch
    clock: Clock
    options: StreamOptions
    runner: Runner | None
    writing: bool  # a write is under way
    ping_due: bool
    stopping: bool
    pump_waiting: bool  # the pump waits for a wake-up (queue, or the writer)
    pump_running: bool
    ending: bool  # the end of the body is being sent
    body_ended: bool  # and was sent
    send_interrupted: bool  # a send was cut off before it returned
    timed_out: bool
    shutdown_begun: bool
    draining: bool  # the grace period is over: everything is being stopped
    outcome: Outcome | None
    error: BaseException | None
    _source: Any
    _pulled: Any  # the async iterator being pulled, until closed
    _queue_limit: int
    # A put() writing through: its task (asyncio) or its cancel scope (trio).
    _putter: asyncio.Task[Any] | anyio.CancelScope | None
    _send: Send | None
    _end: Send | None
    _shutdown_event: Any
    _farewell_started: bool

    if TYPE_CHECKING:  # each is defined by one of the parts

        async def flush(self, frame: bytes = b"") -> None: ...
        async def write(self, data: bytes, *, last: bool = False) -> bool: ...
        async def _finish(self, *, shutting_down: bool) -> None: ...
        async def _serve_queue(self, queue: EventQueue) -> None: ...
        def kick(self) -> None: ...
        def fail(self, exc: BaseException) -> None: ...
        def stop(self) -> None: ...
        def _disconnected(self) -> None: ...
        def _end_error(self) -> BaseException: ...
        def _completed(self) -> bool: ...
