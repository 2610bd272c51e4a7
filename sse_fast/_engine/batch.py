"""Items to frames: what a stream has made and not yet sent, and when to send it.

A batch holds items as they come (framing is deferred, so that a burst is framed by one
``encode_many`` call) and turns them into bytes when the writer takes them. It is
bounded: past :data:`MAX_EVENTS` events or :data:`MAX_BYTES` bytes of data it is
*full*, and whoever adds to it waits until the writer has taken it (backpressure).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._framing import ServerSentEvent, encode_many

__all__ = ["MAX_AGE", "MAX_BYTES", "MAX_EVENTS", "Batch", "FramingBatch"]

# What is ready together leaves in one write, up to this many events or bytes of data,
# so that one write never holds much more than a socket buffer of one client's data.
MAX_EVENTS = 256
MAX_BYTES = 65536
# A source that never pauses still gets its oldest buffered event written this soon.
MAX_AGE = 0.005


def _wrong_item(item: object) -> TypeError:
    return TypeError(
        f"cannot stream {type(item).__name__}: yield ServerSentEvent, str, dict, bytes "
        "(already framed), a list of them, or an object whose type has __sse_frame__(sep)"
    )


class Batch:
    """The items a stream made and has not sent yet, in order.

    Accepted items: :class:`~sse_fast.ServerSentEvent`, ``str`` (an event with only
    data), ``dict`` (the fields of an event), ``bytes`` (already framed, sent as they
    are), a list or tuple of those, and any object whose *type* has a method
    ``__sse_frame__(self, sep: str) -> bytes`` returning its frame (the broker's events:
    framed once, the same bytes for every subscriber). Anything else is a ``TypeError``.
    ``convert(item)``, if given, turns every other item into one of those first.
    """

    __slots__ = ("convert", "count", "frame", "frames", "items", "sep", "size", "started")

    def __init__(self, sep: str, convert: Callable[[Any], Any] | None = None) -> None:
        self.sep = sep
        self.convert = convert
        self.frame: Callable[[Any], bytes] | None = None  # see FramingBatch
        self.items: list[Any] = []
        self.count = 0
        self.size = 0  # about: the data of the events, not their framing
        self.frames = 0  # items that are already framed bytes
        self.started = 0.0  # when the oldest item came (set by the stream)

    def __bool__(self) -> bool:
        return self.count != 0

    @property
    def full(self) -> bool:
        return self.count >= MAX_EVENTS or self.size >= MAX_BYTES

    def add(self, item: Any) -> None:
        """Add one source item (checked here; framed when taken)."""
        if type(item) is str:
            self.items.append(item)
            self.size += len(item)
            self.count += 1
        elif type(item) is bytes:
            self.add_frame(item)
        elif isinstance(item, ServerSentEvent):
            self.items.append(item)
            self.count += 1
            if item.data is not None:
                self.size += len(item.data)
        elif self.convert is not None:
            self._add_other(self.convert(item))
        else:
            self._add_other(item)

    def _add_other(self, item: Any) -> None:
        if isinstance(item, ServerSentEvent):  # a converted item
            self.items.append(item)
            self.size += 0 if item.data is None else len(item.data)
        elif isinstance(item, str):
            self.items.append(item)
            self.size += len(item)
        elif isinstance(item, bytes | bytearray | memoryview):
            self.add_frame(bytes(item))
            return
        elif isinstance(item, dict):
            event = ServerSentEvent(**item)
            self.items.append(event)
            self.size += 0 if event.data is None else len(event.data)
        elif isinstance(item, list | tuple):
            for part in item:
                self.add(part)
            return
        else:
            frame = getattr(type(item), "__sse_frame__", None)
            if frame is None:
                raise _wrong_item(item)
            self.add_frame(frame(item, self.sep))
            return
        self.count += 1

    def add_frame(self, frame: bytes) -> None:
        """Add an event already framed (the bytes are sent as they are)."""
        self.items.append(frame)
        self.size += len(frame)
        self.count += 1
        self.frames += 1

    def take(self) -> bytes:
        """Everything in the batch as one buffer of frames; the batch is empty after."""
        items = self.items
        if not items:
            return b""
        frames = self.frames
        self.items = []
        self.count = self.size = self.frames = 0
        if not frames:
            return encode_many(items, self.sep)
        if frames == len(items):
            return items[0] if frames == 1 else b"".join(items)
        pieces: list[bytes] = []
        run: list[Any] = []
        for item in items:
            if type(item) is bytes:
                if run:
                    pieces.append(encode_many(run, self.sep))
                    run = []
                pieces.append(item)
            else:
                run.append(item)
        if run:
            pieces.append(encode_many(run, self.sep))
        return b"".join(pieces)


class FramingBatch(Batch):
    """A batch whose stream has its own framing: ``frame(item) -> bytes`` turns every
    item, ``str`` included, into the bytes sent for it (an adapter that frames its
    items as its framework does, without a generator around the source to do it)."""

    __slots__ = ()

    def __init__(self, sep: str, frame: Callable[[Any], bytes]) -> None:
        super().__init__(sep)
        self.frame = frame

    def add(self, item: Any) -> None:
        """Frame one source item now and add the bytes."""
        self.add_frame(self.frame(item))  # type: ignore[misc]
