"""Pure-Python twin of the framing core: the readable reference.

Wire format (WHATWG HTML §9.2.5): each field is ``name: value`` followed by the
separator, and a blank line ends the event. Fields appear in a fixed order:
comment lines, ``id``, ``event``, ``data`` lines, ``retry``. Multi-line ``data`` and
``comment`` values are split on CRLF, CR and LF, and nothing else: §9.2.6 ends
lines only there, so ``str.splitlines()`` (which also splits on U+2028, U+0085
and more) must not be used. Each piece becomes its own line, so data can never
end an event early or start a second one.

The compiled twin (``_framing_c.pyx``) must produce the same bytes and raise the
same exceptions for every input; the test suite checks both.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Final

from . import _errors
from ._errors import SEPARATORS

__all__ = ["ServerSentEvent", "encode", "encode_many"]

_SEP_BYTES: Final = {sep: sep.encode() for sep in SEPARATORS}


def _check_sep(sep: object) -> bytes:
    try:
        return _SEP_BYTES[sep]  # type: ignore[index]
    except (KeyError, TypeError):
        raise _errors.bad_sep(sep) from None


def _utf8(value: str, field: str) -> bytes:
    if value.isascii():
        return str.encode(value)
    try:
        return str.encode(value, "utf-8")
    except UnicodeEncodeError:
        raise _errors.unencodable(field, value) from None


def _data_bytes(data: object) -> bytes:
    if isinstance(data, str):
        return _utf8(data, "data")
    if isinstance(data, bytes):
        if not data.isascii():
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise _errors.undecodable("data", data) from None
        return bytes(data)
    raise _errors.wrong_type("data", "str or bytes", data)


def _event_bytes(event: object) -> bytes:
    if not isinstance(event, str):
        raise _errors.wrong_type("event", "str", event)
    if "\n" in event or "\r" in event:
        raise _errors.line_break("event", event)
    return _utf8(event, "event")


def _id_bytes(id: object) -> bytes:
    if not isinstance(id, str):
        raise _errors.wrong_type("id", "str", id)
    if "\n" in id or "\r" in id or "\0" in id:
        raise _errors.id_break(id)
    return _utf8(id, "id")


def _comment_bytes(comment: object) -> bytes:
    if not isinstance(comment, str):
        raise _errors.wrong_type("comment", "str", comment)
    return _utf8(comment, "comment")


def _lines(prefix: bytes, text: bytes, sep: bytes) -> bytes:
    """``prefix`` + each CR/LF/CRLF-separated piece of ``text`` + ``sep``."""
    if b"\r" in text:
        text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return prefix + text.replace(b"\n", sep + prefix) + sep


def _frame(
    data: bytes | None,
    event: bytes | None,
    id: bytes | None,
    retry: int | None,
    comment: bytes | None,
    sep: bytes,
) -> bytes:
    """Assemble one event from fields that are already validated and encoded."""
    parts = []
    if comment is not None:
        parts.append(_lines(b": ", comment, sep))
    if id is not None:
        parts.append(b"id: " + id + sep)
    if event is not None:
        parts.append(b"event: " + event + sep)
    if data is not None:
        parts.append(_lines(b"data: ", data, sep))
    if retry is not None:
        parts.append(b"retry: %d" % retry + sep)
    parts.append(sep)
    return b"".join(parts)


def _data_only(data: str) -> bytes:
    """The most common event (a token, a JSON document) on its shortest path."""
    if "\r" in data:
        data = data.replace("\r\n", "\n").replace("\r", "\n")
    try:
        return str.encode("data: " + data.replace("\n", "\ndata: ") + "\n\n")
    except UnicodeEncodeError:
        raise _errors.unencodable("data", data) from None


class ServerSentEvent:
    """One server-sent event: an immutable value, validated when it is created.

    ``data`` is ``str`` (encoded as UTF-8) or ``bytes`` (which must be valid UTF-8);
    it may span several lines (CRLF, CR or LF), each sent as its own ``data:`` line.
    ``None`` sends no data line, so browsers will not fire the event; ``""`` sends
    one empty ``data:`` line. ``event`` must not contain CR or LF, ``id`` must not
    contain CR, LF or NUL. ``retry`` is the reconnection time: a non-negative
    ``int`` of milliseconds or a ``datetime.timedelta`` (stored as whole
    milliseconds). ``comment`` becomes one ``:`` line per line of text.

    Bad input raises ``TypeError`` or ``ValueError`` (``UnicodeError`` for a lone
    surrogate or invalid UTF-8) naming the field.
    """

    __slots__ = ("comment", "data", "event", "id", "retry")

    data: str | bytes | None
    event: str | None
    id: str | None
    retry: int | None
    comment: str | None

    def __init__(
        self,
        data: str | bytes | None = None,
        *,
        event: str | None = None,
        id: str | None = None,
        retry: int | timedelta | None = None,
        comment: str | None = None,
    ) -> None:
        if data is not None:
            _data_bytes(data)
        if event is not None:
            _event_bytes(event)
        if id is not None:
            _id_bytes(id)
        if retry is not None:
            retry = _errors.retry_to_int(retry)
        if comment is not None:
            _comment_bytes(comment)
        setter = object.__setattr__
        setter(self, "data", data)
        setter(self, "event", event)
        setter(self, "id", id)
        setter(self, "retry", retry)
        setter(self, "comment", comment)

    def encode(self, sep: str = "\n") -> bytes:
        """The event on the wire: its field lines, then a blank line, ended by ``sep``."""
        sep_bytes = _check_sep(sep)
        data, event, id, comment = self.data, self.event, self.id, self.comment
        return _frame(
            None if data is None else (data if isinstance(data, bytes) else str.encode(data)),
            None if event is None else str.encode(event),
            None if id is None else str.encode(id),
            self.retry,
            None if comment is None else str.encode(comment),
            sep_bytes,
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ServerSentEvent is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ServerSentEvent is immutable: cannot delete {name!r}")

    def _fields(self) -> tuple[object, ...]:
        return (self.data, self.event, self.id, self.retry, self.comment)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = [] if self.data is None else [repr(self.data)]
        for name in ("event", "id", "retry", "comment"):
            value = getattr(self, name)
            if value is not None:
                shown.append(f"{name}={value!r}")
        return f"ServerSentEvent({', '.join(shown)})"

    def __reduce__(self) -> tuple[Any, tuple[object, ...]]:
        return (_restore, self._fields())


def _restore(
    data: str | bytes | None,
    event: str | None,
    id: str | None,
    retry: int | None,
    comment: str | None,
) -> ServerSentEvent:
    return ServerSentEvent(data, event=event, id=id, retry=retry, comment=comment)


def encode(
    data: str | bytes | None = None,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | timedelta | None = None,
    comment: str | None = None,
    sep: str = "\n",
) -> bytes:
    """Validate and frame one event; the same bytes as ``ServerSentEvent(...).encode(sep)``."""
    if (
        type(data) is str
        and event is None
        and id is None
        and retry is None
        and comment is None
        and sep == "\n"
    ):
        return _data_only(data)
    return _frame(
        None if data is None else _data_bytes(data),
        None if event is None else _event_bytes(event),
        None if id is None else _id_bytes(id),
        None if retry is None else _errors.retry_to_int(retry),
        None if comment is None else _comment_bytes(comment),
        _check_sep(sep),
    )


def encode_many(events: Iterable[ServerSentEvent | str], sep: str = "\n") -> bytes:
    """Frame many events into one buffer; a ``str`` item is an event with only data.

    Nothing is returned unless every item is valid, so a bad item never leaves a
    half-written batch behind.
    """
    sep_bytes = _check_sep(sep)
    items = events if type(events) is list else list(events)
    frames = []
    for index, item in enumerate(items):
        if isinstance(item, ServerSentEvent):
            frames.append(item.encode(sep))
        elif isinstance(item, str):
            frames.append(_lines(b"data: ", _utf8(item, "data"), sep_bytes) + sep_bytes)
        else:
            raise _errors.wrong_item(index, item)
    return b"".join(frames)
