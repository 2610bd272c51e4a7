"""Exceptions raised by both twins (framing and decoding), and the checks they share.

Both twins detect bad input on their own (the compiled one in C) and then build the
exception here, so that the type *and* the message are identical whichever twin runs.
"""

from __future__ import annotations

import datetime

SEPARATORS = ("\n", "\r\n", "\r")
MAX_RETRY = 2**63 - 1

_SHOWN = 60
_MILLISECOND = datetime.timedelta(milliseconds=1)


def _show(value: str | bytes) -> str:
    if len(value) > _SHOWN:
        return f"{value[:_SHOWN]!r}... ({len(value)} long)"
    return repr(value)


def _show_number(value: object) -> str:
    # repr() of an int past sys.get_int_max_str_digits() raises its own ValueError.
    if isinstance(value, int) and abs(value).bit_length() > 64:
        return f"an int of {abs(value).bit_length()} bits"
    return repr(value)


def wrong_type(field: str, expected: str, value: object) -> TypeError:
    return TypeError(f"{field} must be {expected}, not {type(value).__name__}")


# The words are aiohttp-sse's (apps match on them), then which characters, then the value.
def line_break(field: str, value: str) -> ValueError:
    return ValueError(f"{field} must not contain line separators (CR or LF): {_show(value)}")


def id_break(value: str) -> ValueError:
    return ValueError(
        f"id must not contain line separators or null characters (CR, LF or NUL): {_show(value)}"
    )


def bad_sep(sep: object) -> ValueError | TypeError:
    if not issubclass(type(sep), str):
        return wrong_type("sep", "one of '\\n', '\\r\\n', '\\r'", sep)
    return ValueError(f"sep must be one of '\\n', '\\r\\n', '\\r', got {sep!r}")


def unencodable(field: str, value: str) -> UnicodeEncodeError:
    """The strict UTF-8 error for ``value`` (it holds a lone surrogate), naming ``field``."""
    try:
        str.encode(value, "utf-8")
    except UnicodeEncodeError as exc:
        return UnicodeEncodeError(
            exc.encoding, exc.object, exc.start, exc.end, f"{exc.reason} in {field}"
        )
    raise AssertionError(f"{field} was reported unencodable but encodes")  # pragma: no cover


def undecodable(field: str, value: bytes) -> UnicodeDecodeError:
    """The strict UTF-8 error for ``value`` (it is not valid UTF-8), naming ``field``."""
    try:
        bytes.decode(value, "utf-8")  # not value.decode: a subclass may override it
    except UnicodeDecodeError as exc:
        return UnicodeDecodeError(
            exc.encoding, exc.object, exc.start, exc.end, f"{exc.reason} in {field}"
        )
    raise AssertionError(f"{field} was reported undecodable but decodes")  # pragma: no cover


def retry_to_int(retry: object) -> int:
    """Validate ``retry`` and return it in whole milliseconds (a timedelta is truncated)."""
    if isinstance(retry, datetime.timedelta):
        ms = retry // _MILLISECOND
    elif isinstance(retry, int) and not isinstance(retry, bool):
        ms = int(retry)
    else:
        # "retry argument must be int" is sse-starlette's wording, kept for apps that match it.
        raise wrong_type("retry argument", "int (milliseconds) or datetime.timedelta", retry)
    if ms < 0:
        raise ValueError(f"retry must not be negative: {_show_number(retry)}")
    if ms > MAX_RETRY:
        raise ValueError(f"retry must be at most 2**63 - 1 milliseconds: {_show_number(retry)}")
    return ms


def wrong_item(index: int, item: object) -> TypeError:
    return TypeError(
        f"encode_many() items must be ServerSentEvent or str, not "
        f"{type(item).__name__} (item {index})"
    )


DEFAULT_MAX_EVENT_SIZE = 8 * 1024 * 1024


class EventTooLarge(ValueError):
    """A decoded stream holds an event or a line longer than the decoder's ``max_event_size``.

    Raised by ``Decoder.feed()`` instead of buffering without bound. The pending event is
    lost and the stream cannot be resumed from this point: later ``feed()`` calls raise
    ``RuntimeError`` until ``close()`` starts a new stream (a client reconnects, sending
    the decoder's ``last_event_id``).
    """

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"{what} longer than max_event_size ({limit} bytes)")
        self.limit = limit


def line_too_long(limit: int) -> EventTooLarge:
    return EventTooLarge("line", limit)


def data_too_large(limit: int) -> EventTooLarge:
    return EventTooLarge("event data", limit)


def max_event_size(value: object) -> int:
    """Validate ``max_event_size``: a positive int, or None (no limit: 2**63 - 1)."""
    if value is None:
        return MAX_RETRY
    if not isinstance(value, int) or isinstance(value, bool):
        raise wrong_type("max_event_size", "an int or None", value)
    if value <= 0:
        raise ValueError(f"max_event_size must be positive: {value!r}")
    return min(int(value), MAX_RETRY)


def seed_id(value: object) -> str:
    """Validate a decoder's initial ``last_event_id`` like an encoded ``id``."""
    if not issubclass(type(value), str):  # type(), not isinstance(): never trust __class__
        raise wrong_type("last_event_id", "str", value)
    value = str.__str__(value)  # the exact str: a subclass may override "in"
    if "\n" in value or "\r" in value or "\0" in value:
        raise ValueError(f"last_event_id must not contain CR, LF or NUL: {_show(value)}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise unencodable("last_event_id", value) from None
    return value


def retry_value(digits: bytes) -> int:
    """ASCII digits as milliseconds, capped at 2**63 - 1 (never int() on a huge string)."""
    digits = digits.lstrip(b"0")
    if len(digits) > 19:
        return MAX_RETRY
    return min(int(digits or b"0"), MAX_RETRY)


def decoder_busy() -> RuntimeError:
    return RuntimeError(
        "Decoder is already in use: by another thread, or re-entered from code that "
        "runs during feed() or close()"
    )


def decoder_failed() -> RuntimeError:
    return RuntimeError(
        "Decoder stopped at EventTooLarge: the stream cannot resume mid-line; "
        "call close() to start a new stream"
    )


def not_picklable(obj: object) -> TypeError:
    return TypeError(f"cannot pickle {type(obj).__name__!r} object")


def immutable(name: str, action: str = "set") -> AttributeError:
    return AttributeError(f"ServerSentEvent is immutable: cannot {action} {name!r}")
