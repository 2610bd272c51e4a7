"""JSON data: compact by default, any encoder returning str or UTF-8 bytes."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

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
