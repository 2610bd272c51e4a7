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

_SEPARATORS: Final = {sep: sep for sep in SEPARATORS}


def _check_sep(sep: object) -> str:
    try:
        return _SEPARATORS[sep]  # type: ignore[index]
    except (KeyError, TypeError):
        raise _errors.bad_sep(sep) from None


def _check_unicode(value: str, field: str) -> None:
    if not value.isascii():  # O(1): only non-ASCII text can hold a lone surrogate
        try:
            str.encode(value, "utf-8")
        except UnicodeEncodeError:
            raise _errors.unencodable(field, value) from None


def _data_text(data: object) -> str:
    if isinstance(data, str):
        _check_unicode(data, "data")
        return data
    if isinstance(data, bytes):
        try:
            return bytes.decode(data, "utf-8")
        except UnicodeDecodeError:
            raise _errors.undecodable("data", data) from None
    raise _errors.wrong_type("data", "str or bytes", data)


def _event_text(event: object) -> str:
    if not isinstance(event, str):
        raise _errors.wrong_type("event", "str", event)
    if "\n" in event or "\r" in event:
        raise _errors.line_break("event", event)
    _check_unicode(event, "event")
    return event


def _id_text(id: object) -> str:
    if not isinstance(id, str):
        raise _errors.wrong_type("id", "str", id)
    if "\n" in id or "\r" in id or "\0" in id:
        raise _errors.id_break(id)
    _check_unicode(id, "id")
    return id


def _comment_text(comment: object) -> str:
    if not isinstance(comment, str):
        raise _errors.wrong_type("comment", "str", comment)
    _check_unicode(comment, "comment")
    return comment


def _lines(prefix: str, text: str, sep: str) -> str:
    """``prefix`` + each CR/LF/CRLF-separated piece of ``text`` + ``sep``."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return prefix + text.replace("\n", sep + prefix) + sep


def _frame(
    data: str | None,
    event: str | None,
    id: str | None,
    retry: int | None,
    comment: str | None,
    sep: str,
) -> str:
    """One event as text, from fields that are already validated."""
    text = "" if comment is None else _lines(": ", comment, sep)
    if id is not None:
        text += "id: " + id + sep
    if event is not None:
        text += "event: " + event + sep
    if data is not None:
        text += _lines("data: ", data, sep)
    if retry is not None:
        text += f"retry: {retry}{sep}"
    return text + sep


def _data_only(data: str) -> bytes:
    """The most common event (a token, a JSON document) on its shortest path."""
    text = data
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        return str.encode("data: " + text.replace("\n", "\ndata: ") + "\n\n")
    except UnicodeEncodeError:
        # Reported on the value as given, so the position matches the compiled twin's.
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

    __slots__ = ("_text", "comment", "data", "event", "id", "retry")

    _text: str | None
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
        setter = object.__setattr__
        # _text is data as text: bytes are decoded once, here, not at every encode().
        text = None if data is None else _data_text(data)
        if event is not None:
            _event_text(event)
        if id is not None:
            _id_text(id)
        retry_ms = None if retry is None else _errors.retry_to_int(retry)
        if comment is not None:
            _comment_text(comment)
        # Set only once every field is valid: a failed re-init leaves the event as it was.
        setter(self, "_text", text)
        setter(self, "retry", retry_ms)
        setter(self, "data", data)
        setter(self, "event", event)
        setter(self, "id", id)
        setter(self, "comment", comment)

    def encode(self, sep: str = "\n") -> bytes:
        """The event on the wire: its field lines, then a blank line, ended by ``sep``."""
        return self._frame(_check_sep(sep)).encode()

    def _frame(self, sep: str) -> str:
        return _frame(self._text, self.event, self.id, self.retry, self.comment, sep)

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


def _decoded_event(data: str, event: str, id: str) -> ServerSentEvent:
    """An event from a decoder's values, which are valid by construction (no CR, no
    lone surrogate; no LF or NUL in ``event`` or ``id``): made without validating them."""
    ev = object.__new__(ServerSentEvent)
    setter = object.__setattr__
    setter(ev, "_text", data)
    setter(ev, "data", data)
    setter(ev, "event", event)
    setter(ev, "id", id)
    setter(ev, "retry", None)
    setter(ev, "comment", None)
    return ev


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
        None if data is None else _data_text(data),
        None if event is None else _event_text(event),
        None if id is None else _id_text(id),
        None if retry is None else _errors.retry_to_int(retry),
        None if comment is None else _comment_text(comment),
        _check_sep(sep),
    ).encode()


def encode_many(events: Iterable[ServerSentEvent | str], sep: str = "\n") -> bytes:
    """Frame many events into one buffer; a ``str`` item is an event with only data.

    Nothing is returned unless every item is valid, so a bad item never leaves a
    half-written batch behind.
    """
    sep = _check_sep(sep)
    items = events if type(events) is list else list(events)
    frames = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            _check_unicode(item, "data")
            frames.append(_lines("data: ", item, sep) + sep)
        elif isinstance(item, ServerSentEvent):
            frames.append(item._frame(sep))
        else:
            raise _errors.wrong_item(index, item)
    return "".join(frames).encode()
