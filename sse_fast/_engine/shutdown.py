"""Draining streams when the server goes away, and the explicit ways to trigger it.

Nothing here runs on the request path: a stream only registers with its
:class:`Shutdown`. What triggers it is chosen by the app: the ASGI lifespan
(``EventSourceApp``, or :func:`sse_fast.adapters.starlette.lifespan` for Starlette),
aiohttp's ``on_shutdown`` (``setup(app)``), a direct :meth:`Shutdown.trigger`, or, as an
explicit opt-in, the process's SIGINT and SIGTERM through :func:`drain_on_signals`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import weakref
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Protocol

__all__ = ["Shutdown", "current_shutdown", "drain_on_signals"]

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))


class _Draining(Protocol):
    def begin_shutdown(self) -> None: ...


class Shutdown:
    """Tells streams that the server is going away.

    :meth:`trigger` makes every stream registered with it drain: its ``shutdown_event``
    is set, its source gets ``shutdown_grace_period`` seconds to finish, then it is
    cancelled, the optional farewell event is sent and the response ends. Triggering is
    idempotent and affects only the streams of this object: there is no process-wide
    flag, so a later server in the same process starts fresh.
    """

    def __init__(self) -> None:
        self._streams: set[Any] = set()  # a stream unregisters itself when it ends
        self.triggered = False

    def register(self, stream: _Draining) -> None:
        """Drain ``stream`` on :meth:`trigger` (at once if it was triggered already)."""
        self._streams.add(stream)
        if self.triggered:
            stream.begin_shutdown()

    def unregister(self, stream: _Draining) -> None:
        self._streams.discard(stream)

    def trigger(self) -> None:
        """Start draining every stream (call it from the event loop's thread)."""
        if self.triggered:
            return
        self.triggered = True
        for stream in list(self._streams):
            stream.begin_shutdown()

    def __len__(self) -> int:
        return len(self._streams)


# One Shutdown per running event loop (or trio run): see current_shutdown().
_by_loop: weakref.WeakKeyDictionary[object, Shutdown] = weakref.WeakKeyDictionary()


def _loop_key() -> object:
    """The running loop (asyncio) or run token (trio)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        import trio

        return trio.lowlevel.current_trio_token()


def current_shutdown() -> Shutdown:
    """The :class:`Shutdown` of the running event loop, shared by streams without one.

    It has no side effect: nothing is installed. A triggered ``Shutdown`` is not reused,
    so streams opened after it get a fresh one.
    """
    key = _loop_key()
    shutdown = _by_loop.get(key)
    if shutdown is None or shutdown.triggered:
        shutdown = _by_loop[key] = Shutdown()
    return shutdown


@contextlib.contextmanager
def drain_on_signals(shutdown: Shutdown | None = None) -> Iterator[Shutdown]:
    """While the block runs, SIGINT and SIGTERM trigger ``shutdown`` first (default: the
    loop's :func:`current_shutdown`), then call the handlers that were installed.

    For servers that wait for open connections before they run the ASGI lifespan
    shutdown (uvicorn): enter it at lifespan startup, so that Ctrl-C ends the streams at
    once. The previous handlers are put back when the block ends (if still ours). Only
    the main thread can install signal handlers; elsewhere this does nothing.
    """
    shutdown = shutdown if shutdown is not None else current_shutdown()
    loop_key = _loop_key()
    installed: dict[int, tuple[Any, Callable[[int, FrameType | None], None]]] = {}

    def chain(previous: Any) -> Callable[[int, FrameType | None], None]:
        def drain_then_previous(signum: int, frame: FrameType | None) -> None:
            # A handler may run in the middle of the loop's own code: the trigger goes
            # through the loop's thread-safe queue, never a direct call.
            with contextlib.suppress(RuntimeError):  # RuntimeError: that loop is over
                _call_soon(loop_key, shutdown.trigger)
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL and signum == signal.SIGINT:
                raise KeyboardInterrupt

        return drain_then_previous

    try:
        for signum in _SIGNALS:
            previous = signal.getsignal(signum)
            handler = chain(previous)
            signal.signal(signum, handler)
            installed[signum] = (previous, handler)
    except ValueError:  # not the main thread: only an explicit trigger() drains
        pass
    try:
        yield shutdown
    finally:
        for signum, (previous, handler) in installed.items():
            if signal.getsignal(signum) is handler:  # else someone chained in front of us
                signal.signal(signum, previous)


def _call_soon(key: object, callback: Callable[[], object]) -> None:
    if isinstance(key, asyncio.AbstractEventLoop):
        key.call_soon_threadsafe(callback)
    else:
        key.run_sync_soon(callback)  # type: ignore[attr-defined]
