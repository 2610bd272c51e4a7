"""JSON data: compact by default, any encoder returning str or UTF-8 bytes."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime, timezone
from typing import Any

import pytest
from pydantic import BaseModel

import sse_fast


def test_json_event_is_compact_utf8() -> None:
    event = sse_fast.json_event({"token": "héllo", "n": [1, 2]}, event="t", id="1")
    assert event.data == '{"token":"héllo","n":[1,2]}'
    assert event.encode() == 'id: 1\nevent: t\ndata: {"token":"héllo","n":[1,2]}\n\n'.encode()


def test_encode_json_equals_json_event_encode() -> None:
    value = {"a": "line\nbreak", "b": None}
    assert sse_fast.encode_json(value, retry=5, sep="\r\n") == sse_fast.json_event(
        value, retry=5
    ).encode("\r\n")


def test_newlines_inside_json_strings_stay_escaped() -> None:
    assert sse_fast.encode_json("a\nb") == b'data: "a\\nb"\n\n'


def test_nan_is_not_json() -> None:
    with pytest.raises(ValueError, match=r"JSON"):
        sse_fast.encode_json(math.nan)


def test_indented_json_is_sent_as_several_data_lines() -> None:
    wire = sse_fast.encode_json({"a": 1}, dumps=lambda v: json.dumps(v, indent=1))
    assert wire == b'data: {\ndata:  "a": 1\ndata: }\n\n'


def test_dumps_returning_bytes_is_accepted() -> None:
    def dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    assert sse_fast.encode_json([1, "x"], dumps=dumps) == b'data: [1,"x"]\n\n'
    assert sse_fast.json_event([1], dumps=dumps).data == b"[1]"


def test_dumps_returning_invalid_utf8_is_rejected() -> None:
    with pytest.raises(UnicodeDecodeError, match=r"in data$"):
        sse_fast.encode_json(1, dumps=lambda v: b"\xff")


def test_unserialisable_value_raises_before_anything_is_framed() -> None:
    with pytest.raises(TypeError, match=r"not JSON serializable"):
        sse_fast.encode_json({"when": object()})


class Quote(BaseModel):
    symbol: str
    price: float
    at: datetime


@dataclasses.dataclass
class Trade:
    quote: Quote
    size: int
    tags: tuple[str, ...] = ()


AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_a_pydantic_model_is_dumped_by_model_dump_json() -> None:
    quote = Quote(symbol="€UR", price=1.5, at=AT)
    assert sse_fast.json_event(quote, id="1").data == quote.model_dump_json()
    assert sse_fast.encode_json(quote) == b"data: " + quote.model_dump_json().encode() + b"\n\n"


def test_models_and_dataclasses_nested_in_values_go_through_the_default_hook() -> None:
    trade = Trade(Quote(symbol="X", price=2.0, at=AT), size=3, tags=("a",))
    expected = {
        "trades": [
            {"quote": {"symbol": "X", "price": 2.0, "at": "2026-01-02T03:04:05Z"}, "size": 3,
             "tags": ["a"]}
        ]
    }  # fmt: skip
    assert json.loads(sse_fast.json_event({"trades": [trade]}).data or "") == expected


def test_a_custom_default_hook_replaces_the_built_in_one() -> None:
    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.timestamp()
        raise TypeError(type(value).__name__)

    assert sse_fast.encode_json({"at": AT}, default=default) == b'data: {"at":1767323045.0}\n\n'


def test_dumps_and_default_together_are_refused() -> None:
    with pytest.raises(ValueError, match=r"dumps or default"):
        sse_fast.json_event(1, dumps=json.dumps, default=str)


def test_a_model_class_is_not_mistaken_for_a_model() -> None:
    with pytest.raises(TypeError, match=r"type ModelMetaclass is not JSON serializable"):
        sse_fast.encode_json(Quote)
