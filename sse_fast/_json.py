"""JSON data for events: any JSON-serialisable value, compact, with a pluggable encoder."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ._framing import ServerSentEvent, encode

JSONDumps = Callable[[Any], "str | bytes"]


def _compact_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def json_event(
    value: Any,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | timedelta | None = None,
    comment: str | None = None,
    dumps: JSONDumps | None = None,
) -> ServerSentEvent:
    """An event whose data is ``value`` as JSON.

    The default encoder is :func:`json.dumps` with compact separators, UTF-8 text
    (``ensure_ascii=False``) and no NaN or infinity (they are not JSON). Pass
    ``dumps=orjson.dumps`` or ``dumps=msgspec.json.encode`` (anything returning
    ``str`` or UTF-8 ``bytes``) for speed or for types the standard library does not
    know. Multi-line output (``indent=2``) is split into ``data:`` lines and joined
    back by every client, so the JSON arrives intact.
    """
    data = (dumps or _compact_dumps)(value)
    return ServerSentEvent(data, event=event, id=id, retry=retry, comment=comment)


def encode_json(
    value: Any,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | timedelta | None = None,
    comment: str | None = None,
    sep: str = "\n",
    dumps: JSONDumps | None = None,
) -> bytes:
    """``json_event(value, ...).encode(sep)`` in one call, without the event object."""
    data = (dumps or _compact_dumps)(value)
    return encode(data, event=event, id=id, retry=retry, comment=comment, sep=sep)
