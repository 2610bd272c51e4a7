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
from typing import Any, Final, cast

from . import _errors, _pickling
from ._errors import SEPARATORS

__all__ = ["ServerSentEvent", "encode", "encode_many"]

_SEPARATORS: Final = {sep: sep for sep in SEPARATORS}


def _exact_str(value: object, field: str, expected: str = "str") -> str:
    """``value`` as an exact ``str``, as the compiled twin reads it: type(), never
    isinstance() (an object may fake ``__class__``), and a subclass's methods (``in``,
    ``replace``, ``isascii``) take no part in validating or framing."""
    if type(value) is str:
        return value
    if issubclass(type(value), str):
        return str.__str__(value)
    raise _errors.wrong_type(field, expected, value)


def _check_sep(sep: object) -> str:
    found = _SEPARATORS.get(sep) if type(sep) is str else None
    if found is None and issubclass(type(sep), str):
        found = _SEPARATORS.get(str.__str__(sep))
    if found is None:
        raise _errors.bad_sep(sep)
    return found


def _check_unicode(value: str, field: str) -> None:
    if not value.isascii():  # O(1): only non-ASCII text can hold a lone surrogate
        try:
            str.encode(value, "utf-8")
        except UnicodeEncodeError:
            raise _errors.unencodable(field, value) from None


def _data_value(data: object) -> tuple[str | bytes, str]:
    """``data`` as it is kept (bytes, or an exact str) and as text."""
    if issubclass(type(data), bytes):
        try:
            return data, bytes.decode(data, "utf-8")  # type: ignore[arg-type, return-value]
        except UnicodeDecodeError:
            raise _errors.undecodable("data", data) from None  # type: ignore[arg-type]
    text = _exact_str(data, "data", "str or bytes")
    _check_unicode(text, "data")
    return text, text


def _data_text(data: object) -> str:
    return _data_value(data)[1]


def _event_text(event: object) -> str:
    event = _exact_str(event, "event")
    if "\n" in event or "\r" in event:
        raise _errors.line_break("event", event)
    _check_unicode(event, "event")
    return event


def _id_text(id: object) -> str:
    id = _exact_str(id, "id")
    if "\n" in id or "\r" in id or "\0" in id:
        raise _errors.id_break(id)
    _check_unicode(id, "id")
    return id


def _comment_text(comment: object) -> str:
    comment = _exact_str(comment, "comment")
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


_Values = tuple[str | bytes | None, str | None, str | None, int | None, str | None]
_NO_VALUES: Final[_Values] = (None, None, None, None, None)


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

    __slots__ = ("_text", "_values")

    _text: str | None  # data as text: bytes are decoded once, not at every encode()
    # The fields as validated, which is what is framed, compared and pickled; the public
    # names read them, and a subclass that shadows one (a property) changes none of that.
    _values: _Values

    @property
    def data(self) -> str | bytes | None:
        return self._values[0]

    @property
    def event(self) -> str | None:
        return self._values[1]

    @property
    def id(self) -> str | None:
        return self._values[2]

    @property
    def retry(self) -> int | None:
        return self._values[3]

    @property
    def comment(self) -> str | None:
        return self._values[4]

    def __getattr__(self, name: str) -> Any:
        # Only reached when a slot was never set: an event that no __init__ filled (a
        # subclass may skip it) is the empty event, as in the compiled twin.
        if name == "_values":
            return _NO_VALUES
        if name == "_text":
            return None
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __init__(
        self,
        data: str | bytes | None = None,
        *,
        event: str | None = None,
        id: str | None = None,
        retry: int | timedelta | None = None,
        comment: str | None = None,
    ) -> None:
        text = None
        if data is not None:
            data, text = _data_value(data)
        if event is not None:
            event = _event_text(event)
        if id is not None:
            id = _id_text(id)
        retry_ms = None if retry is None else _errors.retry_to_int(retry)
        if comment is not None:
            comment = _comment_text(comment)
        # Set only once every field is valid: a failed re-init leaves the event as it was.
        object.__setattr__(self, "_text", text)
        object.__setattr__(self, "_values", (data, event, id, retry_ms, comment))

    def encode(self, sep: str = "\n") -> bytes:
        """The event on the wire: its field lines, then a blank line, ended by ``sep``."""
        return ServerSentEvent._frame(self, _check_sep(sep)).encode()

    def _frame(self, sep: str) -> str:
        _, event, id, retry, comment = self._values
        return _frame(self._text, event, id, retry, comment, sep)

    def __setattr__(self, name: str, value: object) -> None:
        raise _errors.immutable(name)

    def __delattr__(self, name: str) -> None:
        raise _errors.immutable(name, "delete")

    def _fields(self) -> tuple[object, ...]:
        return self._values

    def __eq__(self, other: object) -> bool:
        if not issubclass(type(other), ServerSentEvent):
            return NotImplemented
        return self._values == cast("ServerSentEvent", other)._values

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        data, *others = self._values
        shown = [] if data is None else [repr(data)]
        for name, value in zip(("event", "id", "retry", "comment"), others, strict=True):
            if value is not None:
                shown.append(f"{name}={value!r}")
        return f"ServerSentEvent({', '.join(shown)})"

    def __reduce__(self) -> tuple[Any, ...]:
        if type(self) is ServerSentEvent:
            return (_restore, self._values)
        return (
            _pickling.restore,
            (type(self), ServerSentEvent, self._values),
            _pickling.extra_state(self, ServerSentEvent),
        )

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)


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
    made = object.__new__(ServerSentEvent)
    object.__setattr__(made, "_text", data)
    object.__setattr__(made, "_values", (data, event, id, None, None))
    return made


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
        and type(sep) is str
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
    # Only base-class code runs in this loop (no method a subclass could override), so
    # nothing can change the caller's list while it is read.
    for index, item in enumerate(items):
        if issubclass(type(item), str):
            text = _exact_str(item, "data")
            _check_unicode(text, "data")
            frames.append(_lines("data: ", text, sep) + sep)
        elif issubclass(type(item), ServerSentEvent):
            frames.append(ServerSentEvent._frame(item, sep))
        else:
            raise _errors.wrong_item(index, item)
    return "".join(frames).encode()
