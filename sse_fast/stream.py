"""The streaming engine: events from any (async) iterable to any transport.

A connection has three parts: a *producer* iterates the user's source into a buffer,
a *writer* frames and sends, and a *watcher* waits for the client to leave. One clock
per connection serves pings, the send timeout and the shutdown grace period. Per event
there is no cancel scope, no task and no log call: the producer appends to a list, the
writer takes everything the producer made while it ran and sends it as one write.
Events that are already available (a list yielded at once, a burst drained from a
queue) therefore leave together.

On asyncio the parts are plain tasks and the clock one timer handle; on other backends
(trio) they run in an anyio task group, the clock being the watcher's deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import math
import signal
import threading
import time
import weakref
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from types import FrameType
from typing import Any, Protocol

import anyio
import anyio.lowlevel

from ._framing import ServerSentEvent, encode_many

__all__ = [
    "EventStream",
    "Outcome",
    "SendTimeoutError",
    "Shutdown",
    "current_shutdown",
]

# A producer that never awaits would otherwise keep its first event back until the
# batch is full; after this long the writer gets a turn.
_BATCH_LATENCY = 0.005
# A batch is also bounded in size, so that one write never holds much more than a
# socket buffer's worth of a client's data.
_BATCH_EVENTS = 256
_BATCH_BYTES = 65536
_FAREWELL_TIMEOUT = 1.0


class SendTimeoutError(TimeoutError):
    """A send did not complete within ``send_timeout``: the client stopped reading."""


class Outcome(enum.Enum):
    """How a stream ended (returned by :meth:`EventStream.run`)."""

    COMPLETED = "completed"  # the source was exhausted
    DISCONNECTED = "disconnected"  # the client left
    SHUTDOWN = "shutdown"  # the server is going away


class _SupportsSet(Protocol):
    def set(self) -> Any: ...


class Shutdown:
    """Tells streams that the server is going away.

    :meth:`trigger` makes every stream registered with it drain: its ``shutdown_event``
    is set, its source gets ``shutdown_grace_period`` seconds to finish, then it is
    cancelled, the optional farewell event is sent and the response ends. Triggering is
    idempotent and affects only the streams of this object: there is no process-wide
    flag, so a later server in the same process starts fresh.
    """

    def __init__(self) -> None:
        self._streams: weakref.WeakSet[EventStream] = weakref.WeakSet()
        self.triggered = False

    def trigger(self) -> None:
        """Start draining every stream (call it from the event loop's thread)."""
        if self.triggered:
            return
        self.triggered = True
        for stream in list(self._streams):
            stream._begin_shutdown()

    def __len__(self) -> int:
        return len(self._streams)


# One Shutdown per running event loop, triggered by SIGINT/SIGTERM: see current_shutdown().
_by_loop: weakref.WeakKeyDictionary[object, Shutdown] = weakref.WeakKeyDictionary()
_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))


def current_shutdown() -> Shutdown:
    """The :class:`Shutdown` of the running server, triggered when it is told to stop.

    It chains itself in front of the SIGINT and SIGTERM handlers that the server
    installed (uvicorn, hypercorn, gunicorn's workers...) and calls them after
    triggering: the server shuts down as before, and its open streams end instead of
    holding it up. Nothing is patched; a handler is chained only where one is installed
    and only from the main thread, and again if the server replaced it. A triggered
    ``Shutdown`` is not reused: streams opened later get a fresh one, so a server
    started after another in the same process is not affected by the first one's stop.
    """
    key = _loop_key()
    shutdown = _by_loop.get(key)
    if shutdown is None or shutdown.triggered:
        shutdown = _by_loop[key] = Shutdown()
    _chain_signal_handlers(key)
    return shutdown


def _loop_key() -> object:
    """The running loop (asyncio) or run token (trio)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        import trio

        return trio.lowlevel.current_trio_token()


def _call_soon(key: object, callback: Callable[[], object]) -> None:
    """Run ``callback`` on the loop (or trio run) ``key``, from any thread."""
    if isinstance(key, asyncio.AbstractEventLoop):
        key.call_soon_threadsafe(callback)
    else:
        key.run_sync_soon(callback)  # type: ignore[attr-defined]


def _chain_signal_handlers(key: object) -> None:
    ref = weakref.ref(key)  # a handler left installed must not keep a closed loop alive

    def call_soon(callback: Callable[[], object]) -> None:
        loop = ref()
        if loop is not None:
            _call_soon(loop, callback)

    def trigger_current() -> None:
        loop = ref()
        shutdown = _by_loop.get(loop) if loop is not None else None
        if shutdown is not None:
            shutdown.trigger()

    for signum in _SIGNALS:
        previous = signal.getsignal(signum)
        if not callable(previous) or getattr(previous, "_sse_fast_loop", None) is ref:
            continue  # no handler to chain (default left alone), or already chained

        def chained(
            signum: int,
            frame: FrameType | None,
            previous: Callable[[int, FrameType | None], Any] = previous,
        ) -> None:
            # A signal handler may run in the middle of the loop's own code: the
            # trigger goes through the loop's thread-safe queue, not a direct call.
            # Once that loop has closed there is nothing to drain, and the server's
            # own handler must still run.
            try:
                call_soon(trigger_current)
            except RuntimeError:  # the loop (or trio run) is over
                pass
            finally:
                previous(signum, frame)

        chained._sse_fast_loop = ref  # type: ignore[attr-defined]
        try:
            signal.signal(signum, chained)
        except ValueError:  # not the main thread: only an explicit trigger() drains
            return


def _encode_ping(ping_message: ServerSentEvent | bytes | str | None, sep: str) -> bytes:
    if ping_message is None:
        return ServerSentEvent(comment="ping").encode(sep)
    if isinstance(ping_message, bytes):
        return ping_message
    if isinstance(ping_message, str):
        return ServerSentEvent(comment=ping_message).encode(sep)
    return ping_message.encode(sep)


Source = AsyncIterable[Any] | Iterable[Any]
Send = Callable[[bytes], Awaitable[None]]
WaitDisconnect = Callable[[], Awaitable[object]]


class _Wakeup(Protocol):
    def set(self) -> object: ...
    async def wait(self) -> object: ...


class _FutureWakeup:
    """One task waiting for another, on asyncio: a bare future, lighter than an Event."""

    __slots__ = ("_future",)

    def __init__(self, loop: Any) -> None:
        self._future = loop.create_future()

    def set(self) -> None:
        if not self._future.done():
            self._future.set_result(None)

    async def wait(self) -> None:
        await self._future


def _running_asyncio_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # another backend: trio
        return None


class EventStream:
    """Streams events from ``source`` to a transport, with pings, timeouts and shutdown.

    ``source`` is a sync or async iterable of :class:`~sse_fast.ServerSentEvent`,
    ``str`` (an event with only data), ``dict`` (the fields of an event), ``bytes``
    (already framed, sent as they are) or a list or tuple of those (sent in one write).
    A sync iterable other than a list or tuple runs in a worker thread, so that a
    blocking generator does not block the event loop.

    ``ping`` is the heartbeat interval in seconds (``0`` or ``None``: no pings); with
    ``ping_idle_only`` a ping is only sent after an interval without events.
    ``ping_message`` replaces the default ``: ping`` comment (an event, a comment string
    or framed bytes, encoded once). ``send_timeout`` ends the stream with
    :class:`SendTimeoutError` when one write does not complete in that many seconds.
    ``shutdown`` (default: :func:`current_shutdown`) drains the stream; when it triggers,
    ``shutdown_event`` is set, the source has ``shutdown_grace_period`` seconds to
    finish, then ``farewell`` is sent. ``on_disconnect(message)`` is awaited after the
    source was closed because the client left. ``background()`` runs beside the stream
    and is cancelled when it ends.
    """

    __slots__ = (
        "__weakref__",
        "_background",
        "_batch_started",
        "_buffer",
        "_buffered_bytes",
        "_disconnect_message",
        "_draining",
        "_error",
        "_farewell",
        "_farewell_started",
        "_grace",
        "_grace_deadline",
        "_group_scope",
        "_has_bytes",
        "_loop",
        "_new_wakeup",
        "_next_ping",
        "_on_disconnect",
        "_outcome",
        "_ping_bytes",
        "_ping_due",
        "_ping_factory",
        "_ping_idle_only",
        "_ping_interval",
        "_producer_done",
        "_producer_error",
        "_room",
        "_send_started",
        "_send_timeout",
        "_sep",
        "_shutdown",
        "_shutdown_begun",
        "_shutdown_event",
        "_source",
        "_stopping",
        "_tasks",
        "_timed_out",
        "_timer",
        "_watch_scope",
        "_writer_wakeup",
        "_writes",
        "_writes_at_last_ping",
    )  # fmt: skip

    def __init__(
        self,
        source: Source,
        *,
        sep: str = "\n",
        ping: float | None = 15.0,
        ping_idle_only: bool = False,
        ping_message: ServerSentEvent | bytes | str | None = None,
        ping_message_factory: Callable[[], ServerSentEvent | bytes] | None = None,
        send_timeout: float | None = None,
        shutdown: Shutdown | None = None,
        shutdown_event: _SupportsSet | None = None,
        shutdown_grace_period: float = 0.0,
        farewell: ServerSentEvent | bytes | None = None,
        on_disconnect: Callable[[object], Awaitable[object]] | None = None,
        background: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        if ping is not None and (not isinstance(ping, int | float) or isinstance(ping, bool)):
            raise TypeError(f"ping must be a number of seconds, not {type(ping).__name__}")
        if ping is not None and (ping < 0 or math.isnan(ping)):
            raise ValueError(f"ping must be >= 0 seconds (0 disables pings): {ping!r}")
        if send_timeout is not None and not send_timeout > 0:
            raise ValueError(f"send_timeout must be > 0 seconds or None: {send_timeout!r}")
        if not shutdown_grace_period >= 0:
            raise ValueError(f"shutdown_grace_period must be >= 0: {shutdown_grace_period!r}")
        self._source = source
        self._sep = sep
        self._ping_interval = ping or None
        self._ping_idle_only = ping_idle_only
        self._ping_bytes = _encode_ping(ping_message, sep)  # validates sep too
        self._ping_factory = ping_message_factory
        self._send_timeout = send_timeout
        self._shutdown = shutdown
        self._shutdown_event = shutdown_event
        self._grace = shutdown_grace_period
        self._farewell = b"" if farewell is None else _encode_ping(farewell, sep)
        self._on_disconnect = on_disconnect
        self._background = background
        # Shared between the three parts of the stream.
        self._buffer: list[Any] = []
        self._buffered_bytes = 0  # about: the data of the events, not their framing
        self._has_bytes = False
        self._batch_started = 0.0
        self._new_wakeup: Callable[[], _Wakeup] | None = None
        self._writer_wakeup: _Wakeup | None = None
        self._room: _Wakeup | None = None
        self._producer_done = False
        self._producer_error: Exception | None = None
        self._ping_due = False
        self._writes = 0
        self._send_started: float | None = None
        self._outcome: Outcome | None = None
        self._timed_out = False
        self._shutdown_begun = False
        self._grace_deadline: float | None = None  # set by the watch task once shut down
        self._draining = False  # the grace period is over: everything is being stopped
        self._farewell_started = False
        self._error: BaseException | None = None
        self._stopping = False  # the stream is ending: every part stops
        self._next_ping = math.inf
        self._writes_at_last_ping = 0
        # On asyncio the parts are plain tasks and the clock one timer handle; on other
        # backends (trio) an anyio task group and a watch loop with a deadline.
        self._loop: Any = None
        self._tasks: list[Any] = []
        self._timer: Any = None
        self._watch_scope: anyio.CancelScope | None = None
        self._group_scope: anyio.CancelScope | None = None
        self._disconnect_message: object = None

    # ------------------------------------------------------------ running

    async def run(self, send: Send, wait_disconnect: WaitDisconnect | None = None) -> Outcome:
        """Stream until the source ends, the client leaves or the server shuts down.

        ``send(data)`` writes bytes to the client and may raise ``OSError`` when it has
        gone; ``wait_disconnect()`` returns when the client has left (without it a
        departure is noticed at the next write). Raises :class:`SendTimeoutError` when a
        write stalls, and whatever the source raised, after sending what it made before.
        """
        shutdown = self._shutdown if self._shutdown is not None else current_shutdown()
        shutdown._streams.add(self)
        try:
            if shutdown.triggered:
                self._begin_shutdown()
            loop = _running_asyncio_loop()
            if loop is not None:
                await self._run_on_asyncio(loop, send, wait_disconnect)
            else:
                await self._run_on_anyio(send, wait_disconnect)
            if self._draining and self._outcome is None:
                # The grace period ran out and everything was stopped: what the source
                # made before still goes out, then the farewell.
                with anyio.move_on_after(_FAREWELL_TIMEOUT):
                    await self._finish_shutdown(send)
        except anyio.get_cancelled_exc_class():
            # The server cancelled us (say its graceful-shutdown timeout ran out): the
            # client still gets the farewell, on an event boundary, before we go.
            if self._farewell and self._outcome is None and not self._farewell_started:
                # A client that left meanwhile must not turn the cancellation into an
                # OSError: the caller is owed its CancelledError.
                with (
                    anyio.CancelScope(shield=True),
                    anyio.move_on_after(_FAREWELL_TIMEOUT),
                    contextlib.suppress(OSError),
                ):
                    await send(self._farewell)
            raise
        finally:
            shutdown._streams.discard(self)
        if self._timed_out:
            raise SendTimeoutError(f"a send did not complete within {self._send_timeout} s")
        if self._outcome is Outcome.DISCONNECTED and self._on_disconnect is not None:
            await self._on_disconnect(self._disconnect_message)
        error = self._error or self._producer_error
        if error is not None:
            raise error
        return self._outcome or Outcome.SHUTDOWN

    async def _run_on_asyncio(
        self, loop: Any, send: Send, wait_disconnect: WaitDisconnect | None
    ) -> None:
        """Plain tasks (anyio's task group costs about 3 KiB more per task, per
        connection) and one timer handle instead of a task and a cancel scope."""
        self._loop = loop
        self._new_wakeup = lambda: _FutureWakeup(loop)
        self._tasks = [loop.create_task(self._produce())]
        if wait_disconnect is not None:
            self._tasks.append(loop.create_task(self._await_disconnect(wait_disconnect)))
        if self._background is not None:
            self._tasks.append(loop.create_task(self._run_background(self._background)))
        writer = loop.create_task(self._write_or_fail(send))
        self._tasks.append(writer)
        self._on_timer()
        try:
            await asyncio.wait([writer])
        finally:
            self._stop()
            # Every part has ended (the source's finally has run) before run() goes on,
            # even under an anyio scope that keeps cancelling us; it is bounded, since
            # the parts are cancelled and closing the source has its own time limit.
            with anyio.CancelScope(shield=True):
                await asyncio.wait(self._tasks)

    async def _run_on_anyio(self, send: Send, wait_disconnect: WaitDisconnect | None) -> None:
        self._new_wakeup = type(anyio.Event())  # the backend's class: no lookup per wait
        async with anyio.create_task_group() as group:
            self._group_scope = group.cancel_scope
            group.start_soon(self._produce)
            group.start_soon(self._watch, wait_disconnect)
            if self._background is not None:
                group.start_soon(self._run_background, self._background)
            await self._write_or_fail(send)
            self._stop()

    async def _write_or_fail(self, send: Send) -> None:
        try:
            await self._write(send)
        except Exception as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        """One part of the stream failed: stop the rest; run() raises ``exc``."""
        if self._error is None:
            self._error = exc
        self._stop()

    async def _run_background(self, background: Callable[[], Awaitable[object]]) -> None:
        try:
            await background()
        except Exception as exc:
            self._fail(exc)

    async def _finish_shutdown(self, send: Send) -> None:
        try:
            self._farewell_started = True
            data = self._take_batch() + self._farewell
            if data:
                await send(data)
            self._outcome = Outcome.SHUTDOWN
        except OSError:
            self._outcome = Outcome.DISCONNECTED

    # ------------------------------------------------------------ producer

    async def _produce(self) -> None:
        source = self._source
        try:
            if isinstance(source, AsyncIterable):
                try:
                    async for item in source:
                        await self._put(item)
                finally:
                    await _close_quietly(source)
            elif isinstance(source, list | tuple):
                for item in source:
                    await self._put(item)
            else:
                await self._produce_in_thread(iter(source))
        except Exception as exc:  # raised by run() once the events made before it are sent
            self._producer_error = exc
        finally:
            self._producer_done = True
            self._wake_writer()

    async def _produce_in_thread(self, iterator: Any) -> None:
        end = object()
        # A cancelled next() is abandoned, not interrupted: the lock makes close() wait
        # for it, so the generator's finally runs in a worker thread, right after.
        lock = threading.Lock()

        def step() -> Any:
            with lock:
                return next(iterator, end)

        def close() -> None:
            with lock:
                closer = getattr(iterator, "close", None)
                if closer is not None:
                    closer()

        try:
            while True:
                item = await anyio.to_thread.run_sync(step, abandon_on_cancel=True)
                if item is end:
                    return
                await self._put(item)
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(_FAREWELL_TIMEOUT):
                await anyio.to_thread.run_sync(close, abandon_on_cancel=True)

    async def _put(self, item: Any) -> None:
        buffer = self._buffer
        if not buffer:
            self._batch_started = time.monotonic()
        if type(item) is str:
            buffer.append(item)
            self._buffered_bytes += len(item)
        elif isinstance(item, ServerSentEvent):
            buffer.append(item)
            if item.data is not None:
                self._buffered_bytes += len(item.data)
        else:
            self._put_other(item)
        if self._writer_wakeup is not None:
            self._wake_writer()
        if len(buffer) >= _BATCH_EVENTS or self._buffered_bytes >= _BATCH_BYTES:
            self._room = room = self._new_wakeup()  # type: ignore[misc]
            await room.wait()
        elif time.monotonic() - self._batch_started > _BATCH_LATENCY:
            await anyio.lowlevel.checkpoint()

    def _put_other(self, item: Any) -> None:
        if isinstance(item, str):
            self._buffer.append(item)
            self._buffered_bytes += len(item)
        elif isinstance(item, bytes | bytearray | memoryview):
            self._buffer.append(bytes(item))
            self._buffered_bytes += len(item)
            self._has_bytes = True
        elif isinstance(item, dict):
            event = ServerSentEvent(**item)
            self._buffer.append(event)
            self._buffered_bytes += 0 if event.data is None else len(event.data)
        elif isinstance(item, list | tuple):
            for part in item:
                self._put_other(part)
        elif (frame := getattr(type(item), "__sse_frame__", None)) is not None:
            framed = frame(item, self._sep)
            self._buffer.append(framed)
            self._buffered_bytes += len(framed)
            self._has_bytes = True
        else:
            raise TypeError(
                f"cannot stream {type(item).__name__}: yield ServerSentEvent, str, dict, "
                "bytes (already framed) or a list of them"
            )

    # ------------------------------------------------------------ writer

    def _wake_writer(self) -> None:
        if self._writer_wakeup is not None:
            self._writer_wakeup.set()
            self._writer_wakeup = None

    def take_unsent(self) -> bytes | None:
        """Take the framed events that the producer made and the writer has not taken.

        For an adapter that can write to its transport without blocking: between two of
        the writer's sends, it may send these, then its own event, itself, in order and
        without a turn of the producer and the writer. ``None`` once the stream ends.
        """
        if self._stopping or self._outcome is not None or self._draining:
            return None
        return self._take_batch()

    def _take_batch(self) -> bytes:
        items = self._buffer
        if not items:
            return b""
        self._buffer = []
        self._buffered_bytes = 0
        has_bytes, self._has_bytes = self._has_bytes, False
        if self._room is not None:
            self._room.set()
            self._room = None
        if not has_bytes:
            return encode_many(items, self._sep)
        pieces: list[bytes] = []
        run: list[Any] = []
        for item in items:
            if isinstance(item, bytes):
                if run:
                    pieces.append(encode_many(run, self._sep))
                    run = []
                pieces.append(item)
            else:
                run.append(item)
        if run:
            pieces.append(encode_many(run, self._sep))
        return b"".join(pieces)

    async def _write(self, send: Send) -> None:
        try:
            while True:
                while not (self._buffer or self._ping_due or self._producer_done):
                    self._writer_wakeup = wakeup = self._new_wakeup()  # type: ignore[misc]
                    await wakeup.wait()
                if self._stopping:
                    return
                data = batch = self._take_batch()
                if self._ping_due:
                    self._ping_due = False
                    if not (data and self._ping_idle_only):
                        data = self._ping() + data
                if data:
                    await self._send(send, data)
                    if batch:
                        self._writes += 1  # writes that carried events (idle-only pings)
                if self._producer_done and not self._buffer:
                    break
            if self._outcome is not None:  # the watch task saw the client leave first
                return
            if self._shutdown_begun:
                self._outcome = Outcome.SHUTDOWN
                if self._farewell:
                    self._farewell_started = True
                    with anyio.move_on_after(_FAREWELL_TIMEOUT):
                        await self._send(send, self._farewell)
            else:
                self._outcome = Outcome.COMPLETED
        except OSError:
            self._outcome = Outcome.DISCONNECTED  # ASGI 2.4: send raises once the client left

    def _ping(self) -> bytes:
        if self._ping_factory is None:
            return self._ping_bytes
        ping = self._ping_factory()
        return ping if isinstance(ping, bytes) else ping.encode(self._sep)

    async def _send(self, send: Send, data: bytes) -> None:
        if self._send_timeout is not None:
            self._send_started = anyio.current_time()
        await send(data)
        self._send_started = None

    # ------------------------------------------------------------ watch: disconnect and timer

    def _check_clock(self, now: float) -> float:
        """Do what is due at ``now`` (ping, send timeout, end of the grace period);
        return when to look again (inf: never)."""
        if self._stopping:
            return math.inf
        if self._ping_interval is not None and math.isinf(self._next_ping):
            self._next_ping = now + self._ping_interval  # the first look, at the start
        if self._shutdown_begun and self._grace_deadline is None:
            self._grace_deadline = now + self._grace
        if self._grace_deadline is not None and now >= self._grace_deadline:
            self._draining = True  # run() sends what is left and the farewell
            self._stop()
            return math.inf
        started = self._send_started
        if started is not None and now - started >= self._send_timeout:  # type: ignore[operator]
            self._timed_out = True
            self._stop()
            return math.inf
        if now >= self._next_ping:
            self._next_ping = now + self._ping_interval  # type: ignore[operator]
            if not (self._ping_idle_only and self._writes != self._writes_at_last_ping):
                self._ping_due = True
                self._wake_writer()
            self._writes_at_last_ping = self._writes
        check = self._next_ping
        if self._send_timeout is not None:
            check = min(check, now + self._send_timeout / 4)
        if self._grace_deadline is not None:
            check = min(check, self._grace_deadline)
        return check

    def _on_timer(self) -> None:
        """asyncio: the connection's one timer, re-armed for the next thing due."""
        loop = self._loop
        check = self._check_clock(loop.time())
        self._timer = None if math.isinf(check) else loop.call_at(check, self._on_timer)

    async def _await_disconnect(self, wait_disconnect: WaitDisconnect) -> None:
        try:
            self._disconnect_message = await wait_disconnect()
        except Exception as exc:
            self._fail(exc)
            return
        if self._outcome is None:
            self._outcome = Outcome.DISCONNECTED
        self._stop()

    async def _watch(self, wait_disconnect: WaitDisconnect | None) -> None:
        """Other backends: wait for the client to leave, looking at the clock when due."""
        try:
            check = self._check_clock(anyio.current_time())
            while not self._stopping:
                with anyio.CancelScope(deadline=check) as self._watch_scope:
                    if wait_disconnect is None:
                        await anyio.sleep_forever()
                    else:
                        self._disconnect_message = await wait_disconnect()
                        if self._outcome is None:
                            self._outcome = Outcome.DISCONNECTED
                        self._stop()
                        return
                self._watch_scope = None
                check = self._check_clock(anyio.current_time())
        except Exception as exc:
            self._fail(exc)

    def _stop(self) -> None:
        """End the stream: stop every part, once (a second cancel of a task would break
        into the cleanup it is doing, such as closing the source)."""
        if self._stopping:
            return
        self._stopping = True
        self._wake_writer()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in self._tasks:
            task.cancel()
        if self._group_scope is not None:
            self._group_scope.cancel()

    def _begin_shutdown(self) -> None:
        if self._shutdown_begun:
            return
        self._shutdown_begun = True
        if self._shutdown_event is not None:
            self._shutdown_event.set()
        # Look at the clock now: it sets the grace deadline (and may end the stream).
        if self._watch_scope is not None:
            self._watch_scope.cancel()
        elif self._loop is not None and not self._stopping:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_soon(self._on_timer)


async def _close_quietly(source: object) -> None:
    """Close an async generator so its ``finally`` runs, even when we were cancelled."""
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(_FAREWELL_TIMEOUT):
            await aclose()
