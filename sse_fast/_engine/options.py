"""The options of a stream, checked once, when a response or app is built."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from typing import Any

from .._framing import ServerSentEvent

__all__ = ["StreamOptions"]

_SEPARATORS = ("\n", "\r\n", "\r")
_LOGGER = logging.getLogger("sse_fast")


def _seconds(name: str, value: object, *, zero_allowed: bool) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if math.isnan(value) or value < 0 or (value == 0 and not zero_allowed):
        bound = ">= 0" if zero_allowed else "> 0"
        raise ValueError(f"{name} must be {bound} seconds: {value!r}")
    return float(value)


def frame_fixed_event(name: str, value: object, sep: str, *, text_is_comment: bool) -> bytes:
    """``value`` (an event, framed bytes, or a comment string) as the bytes sent for it.

    Framed bytes must end with a blank line in ``sep``: a frame that does not end the
    event would merge with the next one on the client.
    """
    if isinstance(value, ServerSentEvent):
        return value.encode(sep)
    if isinstance(value, str) and text_is_comment:
        return ServerSentEvent(comment=value).encode(sep)
    if isinstance(value, bytes | bytearray | memoryview):
        frame = bytes(value)
        if not frame.endswith((sep * 2).encode()):
            raise ValueError(f"{name} bytes must end with a blank line ({sep * 2!r}): {frame!r}")
        return frame
    expected = "a ServerSentEvent, a comment str or framed bytes"
    if not text_is_comment:
        expected = "a ServerSentEvent or framed bytes"
    raise TypeError(f"{name} must be {expected}, not {type(value).__name__}")


class StreamOptions:
    """What every stream of a response or app shares, validated in the constructor.

    ``sep`` frames every event (``"\\n"``, ``"\\r\\n"`` or ``"\\r"``). ``ping`` is the
    heartbeat interval in seconds (``0`` or ``None``: none); with ``ping_idle_only`` a
    ping only follows an interval without events. ``ping_message`` replaces the
    ``: ping`` comment (an event, a comment string or framed bytes);
    ``ping_message_factory()`` builds each ping instead. ``send_timeout`` (seconds,
    ``None``: none) ends a stream whose client stopped reading. On shutdown, the source
    has ``shutdown_grace_period`` seconds to finish, then ``farewell`` (an event or
    framed bytes) is sent. ``thread_limiter`` bounds the worker threads that run sync
    sources (default: one limiter of :data:`~sse_fast.stream.SYNC_SOURCE_THREADS` per
    event loop, separate from anyio's default one that the rest of the app uses).
    ``convert(item)``, if given, is applied to each item of the source that is not a
    ``str`` or an event (an adapter's own item types; its result is not converted
    again). When the stream ends, the source's closing (its ``finally``) gets
    ``cleanup_timeout`` seconds (``None``: no bound) before it is cancelled. What a
    stream logs (a source's cleanup cut off or failing, a client cut off for not reading)
    goes to ``logger`` (default: the ``sse_fast`` logger).
    """

    __slots__ = (
        "cleanup_timeout",
        "convert",
        "farewell",
        "logger",
        "ping",
        "ping_frame",
        "ping_idle_only",
        "ping_message_factory",
        "send_timeout",
        "sep",
        "shutdown_grace_period",
        "thread_limiter",
    )

    def __init__(
        self,
        *,
        sep: str = "\n",
        ping: float | None = 15.0,
        ping_idle_only: bool = False,
        ping_message: ServerSentEvent | bytes | str | None = None,
        ping_message_factory: Callable[[], ServerSentEvent | bytes] | None = None,
        send_timeout: float | None = None,
        shutdown_grace_period: float = 0.0,
        farewell: ServerSentEvent | bytes | None = None,
        thread_limiter: Any = None,
        convert: Callable[[Any], Any] | None = None,
        cleanup_timeout: float | None = 1.0,
        logger: logging.Logger | None = None,
    ) -> None:
        if sep not in _SEPARATORS:
            raise ValueError(f"sep must be one of '\\n', '\\r\\n', '\\r', got {sep!r}")
        self.sep = sep
        self.ping = None if ping is None else _seconds("ping", ping, zero_allowed=True) or None
        self.ping_idle_only = bool(ping_idle_only)
        if ping_message is None:
            ping_message = ServerSentEvent(comment="ping")
        self.ping_frame = frame_fixed_event("ping_message", ping_message, sep, text_is_comment=True)
        if ping_message_factory is not None and not callable(ping_message_factory):
            raise TypeError("ping_message_factory must be callable")
        self.ping_message_factory = ping_message_factory
        self.send_timeout = (
            None
            if send_timeout is None
            else _seconds("send_timeout", send_timeout, zero_allowed=False)
        )
        self.shutdown_grace_period = _seconds(
            "shutdown_grace_period", shutdown_grace_period, zero_allowed=True
        )
        self.farewell = (
            b""
            if farewell is None
            else frame_fixed_event("farewell", farewell, sep, text_is_comment=False)
        )
        self.thread_limiter = thread_limiter
        if convert is not None and not callable(convert):
            raise TypeError(f"convert must be callable, not {type(convert).__name__}")
        self.convert = convert
        self.cleanup_timeout = (
            None
            if cleanup_timeout is None
            else _seconds("cleanup_timeout", cleanup_timeout, zero_allowed=True)
        )
        if logger is not None and not isinstance(logger, logging.Logger):
            raise TypeError(f"logger must be a logging.Logger, not {type(logger).__name__}")
        self.logger = logger if logger is not None else _LOGGER

    @classmethod
    def shared(cls, **values: Any) -> StreamOptions:
        """``StreamOptions(**values)``, the same object for the same values: the responses
        an app builds alike share one (less memory per stream) and check it once. Values
        that cannot be hashed get options of their own."""
        try:
            return _shared(tuple((name, type(value), value) for name, value in values.items()))
        except TypeError:  # unhashable, or a bad value: raised again, by name
            return cls(**values)

    def make_ping(self) -> bytes:
        """The bytes of one ping."""
        if self.ping_message_factory is None:
            return self.ping_frame
        ping = self.ping_message_factory()
        if isinstance(ping, bytes):
            return ping
        return ping.encode(self.sep)


@functools.lru_cache(maxsize=128)
def _shared(values: tuple[tuple[str, type, Any], ...]) -> StreamOptions:
    # The types are part of the key: 1 and True are equal, but only 1 is a valid timeout.
    return StreamOptions(**{name: value for name, _, value in values})
