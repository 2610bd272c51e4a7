"""Exceptions raised by both framing twins.

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


def wrong_type(field: str, expected: str, value: object) -> TypeError:
    return TypeError(f"{field} must be {expected}, not {type(value).__name__}")


def line_break(field: str, value: str) -> ValueError:
    return ValueError(f"{field} must not contain CR or LF: {_show(value)}")


def id_break(value: str) -> ValueError:
    return ValueError(f"id must not contain CR, LF or NUL: {_show(value)}")


def bad_sep(sep: object) -> ValueError | TypeError:
    if not isinstance(sep, str):
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
        value.decode("utf-8")
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
        raise wrong_type("retry", "an int (milliseconds) or a datetime.timedelta", retry)
    if ms < 0:
        raise ValueError(f"retry must not be negative: {retry!r}")
    if ms > MAX_RETRY:
        raise ValueError(f"retry must be at most 2**63 - 1 milliseconds: {retry!r}")
    return ms


def wrong_item(index: int, item: object) -> TypeError:
    return TypeError(
        f"encode_many() items must be ServerSentEvent or str, not "
        f"{type(item).__name__} (item {index})"
    )
