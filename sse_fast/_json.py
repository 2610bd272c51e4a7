"""JSON data for events: any JSON-serialisable value, compact, with a pluggable encoder."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ._framing import ServerSentEvent, encode

JSONDumps = Callable[[Any], "str | bytes"]
JSONDefault = Callable[[Any], Any]


def model_or_dataclass_fields(value: Any) -> Any:
    """The default ``default`` hook: what :func:`json.dumps` cannot encode by itself.

    A pydantic model becomes ``model_dump(mode="json")`` (its own rules for dates,
    enums, aliases it is configured to dump by), a dataclass instance a dict of its
    fields; nested values go through the hook again. Anything else is a ``TypeError``.
    """
    if callable(getattr(value, "model_dump", None)) and not isinstance(value, type):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _compact_dumps(value: Any, default: JSONDefault | None = None) -> str:
    if default is None:
        dump_json = getattr(value, "model_dump_json", None)
        if callable(dump_json) and not isinstance(value, type):
            return str(dump_json())  # pydantic's own encoder: compact UTF-8, one pass
        default = model_or_dataclass_fields
    return json.dumps(
        value, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=default
    )


def _dumps(value: Any, dumps: JSONDumps | None, default: JSONDefault | None) -> str | bytes:
    if dumps is None:
        return _compact_dumps(value, default)
    if default is not None:
        raise ValueError("give dumps or default, not both: default is a json.dumps option")
    return dumps(value)


def json_event(
    value: Any,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | timedelta | None = None,
    comment: str | None = None,
    dumps: JSONDumps | None = None,
    default: JSONDefault | None = None,
) -> ServerSentEvent:
    """An event whose data is ``value`` as JSON.

    The default encoder is :func:`json.dumps` with compact separators, UTF-8 text
    (``ensure_ascii=False``) and no NaN or infinity (they are not JSON). Pass
    ``dumps=orjson.dumps`` or ``dumps=msgspec.json.encode`` (anything returning
    ``str`` or UTF-8 ``bytes``) for speed or for types the standard library does not
    know. Multi-line output (``indent=2``) is split into ``data:`` lines and joined
    back by every client, so the JSON arrives intact.

    pydantic models and dataclasses are encoded without help: a model given as
    ``value`` is dumped by its own ``model_dump_json()``; nested ones, and dataclass
    instances, go through the ``default`` hook, which is
    :func:`model_or_dataclass_fields` unless you pass your own (called, as by
    :func:`json.dumps`, with each value the encoder does not know, it returns a
    JSON-able replacement or raises ``TypeError``).
    """
    data = _dumps(value, dumps, default)
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
    default: JSONDefault | None = None,
) -> bytes:
    """``json_event(value, ...).encode(sep)`` in one call, without the event object."""
    data = _dumps(value, dumps, default)
    return encode(data, event=event, id=id, retry=retry, comment=comment, sep=sep)
