"""Pure-Python twin of the decoder: the readable reference (WHATWG HTML §9.2.6).

Bytes are split into lines first and each field is decoded on its own with
``errors="replace"``: CR, LF, ``:`` and SPACE never occur inside a multi-byte UTF-8
sequence and the UTF-8 decoder resynchronises on them, so this is the same as
decoding the whole stream and then splitting it (spec-rules C14).

The compiled twin (``_decoder.pxi``, part of ``_framing_c``) must return equal
events, keep equal state and raise the same exceptions for every input.
"""

from __future__ import annotations

from typing import Final

from . import _errors
from ._errors import DEFAULT_MAX_EVENT_SIZE, EventTooLarge
from ._framing_py import ServerSentEvent

__all__ = ["Decoder", "EventTooLarge", "ServerSentEvent"]

_BOM: Final = b"\xef\xbb\xbf"

# Decoded values are valid by construction (no CR/LF, no lone surrogate, no NUL in
# an id), so decoded events skip the validating constructor and fill the slots.
_new_event = object.__new__
_set = {name: getattr(ServerSentEvent, name).__set__ for name in ServerSentEvent.__slots__}
_set_text, _set_data, _set_event = _set["_text"], _set["data"], _set["event"]
_set_id, _set_retry, _set_comment = _set["id"], _set["retry"], _set["comment"]


def _decoded(data: str, event: str, id: str) -> ServerSentEvent:
    ev: ServerSentEvent = _new_event(ServerSentEvent)
    _set_text(ev, data)
    _set_data(ev, data)
    _set_event(ev, event)
    _set_id(ev, id)
    _set_retry(ev, None)
    _set_comment(ev, None)
    return ev


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

    @property
    def last_event_id(self) -> str:
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        return self._retry

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
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
        lines = chunk.split(b"\n")
        tail = lines.pop()
        self._tail = [tail] if tail else []
        self._tail_size = len(tail)
        return self._lines(lines, len(chunk) + self._size > self._limit)

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
                    text = b"\n".join(data).decode("utf-8", "replace")
                    events.append(_decoded(text, event_type or "message", id_buffer))
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
