"""Pure-Python twin of the decoder: the readable reference (WHATWG HTML §9.2.6).

The shape is the specification's, and the compiled twin (``_decoder_c.pyx``) has the
same one under the same names: ``feed`` strips the BOM, ``_scan`` cuts the bytes into
lines, ``_interpret`` processes one line, ``_dispatch`` ends an event at a blank line.

Bytes are cut into lines first and each value is decoded on its own with
``errors="replace"``: CR, LF, ``:`` and SPACE never occur inside a multi-byte UTF-8
sequence and the UTF-8 decoder resynchronises on them, so this is the same as decoding
the whole stream and then cutting it into lines, as the specification does.

Both twins return equal events, keep equal state and raise the same exceptions for
every input; ``tests/test_decoder_properties.py`` compares them.
"""

from __future__ import annotations

from threading import Lock
from typing import TYPE_CHECKING, Final

from . import _errors
from ._errors import DEFAULT_MAX_EVENT_SIZE, EventTooLarge
from ._framing_py import ServerSentEvent, _decoded_event

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Decoder", "EventTooLarge", "ServerSentEvent"]

_BOM: Final = b"\xef\xbb\xbf"


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
    ``EventTooLarge`` (a ``ValueError``); None removes the bound. That ends the stream:
    the pending event, the line and an uncommitted id are dropped, and ``feed()``
    raises ``RuntimeError`` until ``close()`` starts a new one.

    A decoder holds the state of one stream: use it from one thread at a time.
    """

    __slots__ = (
        "_data",
        "_event_type",
        "_failed",
        "_head",
        "_id_buffer",
        "_last_event_id",
        "_limit",
        "_line",
        "_line_len",
        "_lock",
        "_pending_cr",
        "_retry",
    )

    _lock: Lock  # held while feed() or close() runs

    def __new__(cls, *args: object, **kwargs: object) -> Self:
        # A decoder that no __init__ fills (a subclass may skip it) is Decoder(), as in
        # the compiled twin, whose __cinit__ sets these.
        decoder = object.__new__(cls)
        decoder._last_event_id = decoder._id_buffer = ""
        decoder._limit = DEFAULT_MAX_EVENT_SIZE
        decoder._retry = None
        decoder._lock = Lock()
        decoder._restart()
        return decoder

    def __init__(
        self, last_event_id: str = "", *, max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE
    ) -> None:
        self._last_event_id = self._id_buffer = _errors.seed_id(last_event_id)
        self._limit = _errors.max_event_size(max_event_size)
        self._retry: int | None = None
        self._restart()

    def _restart(self) -> None:
        self._failed = False  # EventTooLarge was raised: feed() refuses until close()
        self._head: bytes | None = b""  # bytes seen while the BOM is undecided; then None
        self._pending_cr = False  # the last chunk ended with CR: an LF next is its pair
        self._line: list[bytes] = []  # the incomplete last line, in pieces
        self._line_len = 0
        self._data = bytearray()  # raw data values of the pending event, each then LF
        self._event_type = ""
        self._id_buffer = self._last_event_id

    def __reduce__(self) -> str | tuple[object, ...]:
        # A parser in mid-stream is not a value to copy.
        raise _errors.not_picklable(self)

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
        self._enter()
        try:
            if self._failed:
                raise _errors.decoder_failed()
            return self._feed(chunk)
        except EventTooLarge:
            # The rest of the overlong line would be read as a line of its own (a
            # forged "id:" field, say): the stream is over until close().
            self._restart()
            self._failed = True
            raise
        finally:
            self._lock.release()

    def _enter(self) -> None:
        # A second thread, or code that runs during feed() on this thread (a garbage
        # collection's finalizer or callback), is refused, as by the compiled twin.
        if not self._lock.acquire(blocking=False):
            raise _errors.decoder_busy()

    def _feed(self, chunk: bytes) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        if self._head is not None:
            # §9.2.6 decodes with UTF-8 decode, which strips one BOM, only at the
            # start of the stream, even when it arrives split across chunks.
            chunk = self._head + chunk
            if len(chunk) < 3 and _BOM.startswith(chunk):
                self._head = chunk
                return events
            self._head = None
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
        self._scan(chunk, events)
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of stream: the incomplete event and line are dropped (§9.2.6), so no
        event is returned. ``last_event_id`` and ``retry`` are kept; the decoder
        starts a new stream (with its own BOM) if fed again."""
        self._enter()
        self._restart()
        self._lock.release()
        return []

    def _scan(self, chunk: bytes, events: list[ServerSentEvent]) -> None:
        """Cut ``chunk`` into lines and interpret each complete one."""
        if not chunk:
            return
        if self._pending_cr:
            # §9.2.6: a CR followed by an LF is one line end, even across chunks.
            self._pending_cr = False
            if chunk[0] == 10:
                chunk = chunk[1:]
        if b"\r" in chunk:
            # §9.2.6: CRLF, a lone LF and a lone CR each end a line. A CR that ends the
            # chunk ends its line now (never wait for the next chunk to see an LF).
            self._pending_cr = chunk[-1] == 13
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = chunk.split(b"\n")
        rest = lines.pop()  # after the last line end: the start of an incomplete line
        if lines and self._line:
            self._line.append(lines[0])
            lines[0] = b"".join(self._line)
            self._line = []
            self._line_len = 0
        limit = self._limit
        for line in lines:
            if len(line) > limit:
                raise _errors.line_too_long(limit)
            # ---- fast path: a "data: " line, the most common, without _interpret's
            # general split. Equal to _interpret(line) by
            # test_decoder_properties.py::test_decoder_agrees_with_the_reference_reading_of_the_spec
            if line[:6] == b"data: ":
                if len(self._data) + len(line) - 5 > limit:
                    raise _errors.data_too_large(limit)
                self._data += line[6:]
                self._data.append(10)
                continue
            # ---- end of the fast path
            self._interpret(line, events)
        if rest:
            self._extend_line(rest)

    def _extend_line(self, piece: bytes) -> None:
        if self._line_len + len(piece) > self._limit:
            raise _errors.line_too_long(self._limit)
        self._line.append(piece)
        self._line_len += len(piece)

    def _interpret(self, line: bytes, events: list[ServerSentEvent]) -> None:
        """§9.2.6, one line: a blank line dispatches, ``:`` starts a comment, and any
        other line is a field, its name before the first colon, its value after it
        less one leading space (a line without a colon is a name with an empty value)."""
        if not line:
            self._dispatch(events)
            return
        if line[0] == 58:  # ":"
            return
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._append_data(value)
        elif name == b"event":
            self._event_type = value.decode("utf-8", "replace")
        elif name == b"id":
            # §9.2.6: an id value holding NUL is ignored, and the buffer keeps its value.
            if b"\0" not in value:
                self._id_buffer = value.decode("utf-8", "replace")
        elif name == b"retry":
            self._set_retry(value)

    def _append_data(self, value: bytes) -> None:
        """§9.2.6: append the value, then one LF, to the data buffer."""
        if len(self._data) + len(value) + 1 > self._limit:
            raise _errors.data_too_large(self._limit)
        self._data += value
        self._data.append(10)

    def _set_retry(self, value: bytes) -> None:
        """§9.2.6: a value of ASCII digits only sets the reconnection time at once (no
        blank line needed); anything else is ignored. Capped at 2**63 - 1."""
        if value.isdigit():  # bytes.isdigit() is true for ASCII digits only
            self._retry = _errors.retry_value(value)

    def _dispatch(self, events: list[ServerSentEvent]) -> None:
        """§9.2.6, dispatch: commit the id (even when nothing fires), fire an event if
        the data buffer is not empty (less its final LF), reset data and event type."""
        self._last_event_id = self._id_buffer
        if self._data:
            data = self._data[:-1].decode("utf-8", "replace")
            events.append(_decoded_event(data, self._event_type or "message", self._id_buffer))
            self._data = bytearray()
        self._event_type = ""
