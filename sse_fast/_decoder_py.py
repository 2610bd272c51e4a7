"""Pure-Python twin of the decoder: the readable reference (WHATWG HTML §9.2.6).

Bytes are split into lines first and each field is decoded on its own with
``errors="replace"``: CR, LF, ``:`` and SPACE never occur inside a multi-byte UTF-8
sequence and the UTF-8 decoder resynchronises on them, so this is the same as
decoding the whole stream and then splitting it (spec-rules C14).

The compiled twin (``_decoder.pxi``, part of ``_framing_c``) must return equal
events, keep equal state and raise the same exceptions for every input.
"""

from __future__ import annotations

import re
from itertools import islice
from typing import Final

from . import _errors
from ._errors import DEFAULT_MAX_EVENT_SIZE, EventTooLarge
from ._framing_py import ServerSentEvent

__all__ = ["Decoder", "EventTooLarge", "ServerSentEvent"]

_BOM: Final = b"\xef\xbb\xbf"

_new = object.__new__
_BLANK_LINE: Final = re.compile(b"\n\n")
_NEXT_DATA_LINE: Final = re.compile(b"\ndata: ")
_NEXT_DATA_BLOCK: Final = re.compile("\n\ndata: ")


class _NewEvent:
    """A ``ServerSentEvent`` under construction: the same slots, but writable.

    Decoded values are valid by construction (no CR/LF, no lone surrogate, no NUL
    in an id), so decoded events skip the validating constructor: the decoder fills
    the slots of one of these inline, then makes it a ``ServerSentEvent`` by
    assigning ``__class__`` (allowed between classes of identical layout). This is
    about three times faster than setting the slots through their descriptors.
    """

    __slots__ = ServerSentEvent.__slots__
    _text: str
    data: str
    event: str
    id: str
    retry: None
    comment: None


class Decoder:
    """An incremental SSE parser: bytes in, ``ServerSentEvent`` objects out.

    ``feed(chunk)`` returns the events completed by ``chunk`` (each as soon as its
    blank line is read, even a lone CR at the end of the chunk); ``close()`` ends the
    stream and drops the incomplete event, as browsers do. Events carry ``event``
    (the type, ``"message"`` by default), ``data`` and ``id`` (the last event ID
    when the event was dispatched).

    ``last_event_id`` is the last event ID committed by a blank line (seed it with
    the ID of a previous connection); ``retry`` is the latest valid ``retry`` field
    in milliseconds (ASCII digits only, capped at 2**63 - 1), or None.

    ``max_event_size`` bounds the bytes buffered for one event: its data (one byte
    more per data line) and any single line. Past it ``feed()`` raises
    ``EventTooLarge`` (a ``ValueError``); None removes the bound.

    A decoder holds the state of one stream: use it from one thread at a time.
    """

    __slots__ = (
        "_counted",
        "_cr",
        "_data",
        "_event",
        "_head",
        "_id",
        "_last_event_id",
        "_limit",
        "_retry",
        "_size",
        "_tail",
        "_tail_size",
    )

    def __init__(
        self, last_event_id: str = "", *, max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE
    ) -> None:
        self._last_event_id = self._id = _errors.seed_id(last_event_id)
        self._limit = _errors.max_event_size(max_event_size)
        self._retry: int | None = None
        self._head: bytes | None = b""  # bytes seen while the BOM is undecided; then None
        self._cr = False  # the last chunk ended with CR: an LF starting the next is its pair
        self._tail: list[bytes] = []  # the incomplete last line, in pieces
        self._tail_size = 0
        self._data: list[bytes] = []  # raw data values of the pending event
        self._size = 0  # their bytes, plus one per line, as far as counted
        self._counted = 0  # how many of them _size includes
        self._event = ""

    def __reduce__(self) -> str | tuple[object, ...]:
        # As in the compiled twin: a parser in mid-stream is not a value to copy.
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    @property
    def last_event_id(self) -> str:
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        return self._retry

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[ServerSentEvent]:
        """Parse the next bytes of the stream; return the events they complete."""
        if type(chunk) is not bytes:
            chunk = bytes(memoryview(chunk))
        if self._head is not None:
            # §9.2.6 (UTF-8 decode): one BOM is stripped, only at stream start, even
            # when it arrives split across chunks.
            chunk = self._head + chunk
            if len(chunk) < 3 and _BOM.startswith(chunk):
                self._head = chunk
                return []
            self._head = None
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
        if self._cr and chunk:
            # §9.2.6: CR LF is one line end, even when a chunk boundary splits it.
            self._cr = False
            if chunk[0] == 10:
                chunk = chunk[1:]
        if b"\n" not in chunk and b"\r" not in chunk:
            if chunk:
                self._tail.append(chunk)
                self._tail_size += len(chunk)
                if self._tail_size > self._limit:
                    raise _errors.line_too_long(self._limit)
            return []
        if self._tail:
            self._tail.append(chunk)
            chunk = b"".join(self._tail)
        if b"\r" in chunk:
            # A final CR ends its line now (never wait for the next chunk): C2.
            self._cr = chunk[-1] == 13
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = chunk.rfind(b"\n") + 1
        tail = chunk[end:]
        self._tail = [tail] if tail else []
        self._tail_size = len(tail)
        if len(chunk) + self._size > self._limit:  # the limit might be reached: line by line
            return self._lines(chunk[: end - 1].split(b"\n"), True)
        return self._blocks(chunk[:end] if tail else chunk)

    def _blocks(self, text: bytes) -> list[ServerSentEvent]:
        """Interpret whole lines (``text`` ends with LF) event by event.

        Splitting on blank lines (LF LF) gives the events' blocks. Common blocks
        (one ``data: `` line; header lines then only ``data: `` lines) have their
        data cut out with a few searches over the bytes; other blocks go line by
        line. (``re`` finds these separators several times faster than ``bytes``.)
        """
        blocks = _BLANK_LINE.split(text)
        rest = blocks.pop()  # lines that no blank line has ended yet
        events: list[ServerSentEvent] = []
        if blocks:
            # The first block may continue an event begun in an earlier chunk.
            events = self._lines([*blocks[0].split(b"\n"), b""], False)
            if len(blocks) > 1:
                # The others start with no event pending (the previous block ended
                # with a blank line) and each commits the id at its end.
                middle = text[len(blocks[0]) + 2 : len(text) - len(rest) - 2]
                events += self._single_lines(middle, len(blocks) - 1) or self._each(blocks)
                self._last_event_id = self._id
        if rest:
            events += self._lines(rest[:-1].split(b"\n"), False)
        return events

    def _single_lines(self, middle: bytes, count: int) -> list[ServerSentEvent]:
        """The events of ``count`` blocks that are each one ``data: `` line (a token
        stream), or [] if they are not all so."""
        if middle[:6] != b"data: " or middle.count(b"\n") != 2 * (count - 1):
            return []
        # One LF pair per block boundary and no other LF: each block is one line.
        values = _NEXT_DATA_BLOCK.split(middle[6:].decode("utf-8", "replace"))
        if len(values) != count:
            return []
        id_buffer = self._id
        events = []
        for value in values:
            ev = _new(_NewEvent)
            ev._text = ev.data = value
            ev.event = "message"
            ev.id = id_buffer
            ev.retry = ev.comment = None
            ev.__class__ = ServerSentEvent  # type: ignore[assignment]
            events.append(ev)
        return events  # type: ignore[return-value]

    def _each(self, blocks: list[bytes]) -> list[ServerSentEvent]:
        lines = self._lines
        events: list[ServerSentEvent] = []
        for block in islice(blocks, 1, None):
            if block[:6] == b"data: ":
                start = 0
            else:
                start = block.find(b"\ndata: ") + 1
                if not start:
                    events += lines([*block.split(b"\n"), b""], False)
                    continue
            body = block[start:] if start else block
            values = _NEXT_DATA_LINE.split(body)
            if len(values) != body.count(b"\n") + 1:  # not only "data: " lines
                events += lines([*block.split(b"\n"), b""], False)
                continue
            values[0] = values[0][6:]
            if start:
                lines(block[: start - 1].split(b"\n"), False)
                if self._data:  # "data:" lines among the header lines come first
                    self._data += values
                    events += lines([b""], False)
                    continue
            ev = _new(_NewEvent)
            ev._text = ev.data = b"\n".join(values).decode("utf-8", "replace")
            ev.event = self._event or "message"
            self._event = ""
            ev.id = self._id
            ev.retry = ev.comment = None
            ev.__class__ = ServerSentEvent  # type: ignore[assignment]
            events.append(ev)  # type: ignore[arg-type]
        return events

    def _lines(self, lines: list[bytes], check: bool) -> list[ServerSentEvent]:
        """Interpret complete lines; ``check``: the size limit might be reached."""
        events: list[ServerSentEvent] = []
        limit = self._limit
        data = self._data
        size = self._size
        counted = self._counted
        event_type = self._event
        id_buffer = self._id
        for line in lines:
            if not line:
                # Dispatch: the id is committed first, even if nothing fires (D1, C7).
                self._last_event_id = id_buffer
                if data:
                    ev = _new(_NewEvent)
                    ev._text = ev.data = b"\n".join(data).decode("utf-8", "replace")
                    ev.event = event_type or "message"
                    ev.id = id_buffer
                    ev.retry = ev.comment = None
                    ev.__class__ = ServerSentEvent  # type: ignore[assignment]
                    events.append(ev)  # type: ignore[arg-type]
                    data = []
                    size = counted = 0
                event_type = ""  # reset at every blank line (C9)
                continue
            if check and len(line) > limit:
                raise _errors.line_too_long(limit)
            if line[0] == 58:  # ":" starts a comment
                continue
            name, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                data.append(value)
                if check:
                    size += len(value) + 1
                    counted += 1
                    if size > limit:
                        raise _errors.data_too_large(limit)
            elif name == b"event":
                event_type = value.decode("utf-8", "replace")
            elif name == b"id":
                if b"\0" not in value:  # an id with NUL is ignored as a whole (R11)
                    id_buffer = value.decode("utf-8", "replace")
            elif name == b"retry" and value.isdigit():  # bytes.isdigit(): ASCII only
                self._retry = _errors.retry_value(value)  # takes effect now (C8)
        if len(data) > counted:
            size += sum(map(len, data[counted:])) + len(data) - counted
            counted = len(data)
        if self._tail_size > limit:
            raise _errors.line_too_long(limit)
        self._data = data
        self._size = size
        self._counted = counted
        self._event = event_type
        self._id = id_buffer
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of stream: the incomplete event and line are dropped (§9.2.6), so no
        event is returned. ``last_event_id`` and ``retry`` are kept; the decoder
        starts a new stream (with its own BOM) if fed again."""
        self._head = b""
        self._cr = False
        self._tail = []
        self._tail_size = 0
        self._data = []
        self._size = self._counted = 0
        self._event = ""
        self._id = self._last_event_id
        return []
