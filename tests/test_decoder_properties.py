"""Decoder properties: chunking never matters, the twins agree, encode then decode is identity."""

from __future__ import annotations

import importlib
import itertools
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import reference_parse
from twins import TWINS, load_twin

pure = importlib.import_module("sse_fast._decoder_py")
# In a pure wheel (SSE_FAST_EXPECT_PURE) the tests marked `compiled` are deselected.
compiled = importlib.import_module("sse_fast._decoder_c") if "c" in TWINS else pure

SOUP = [b"\r", b"\n", b":", b" ", b"\0", b"\xef\xbb\xbf", b"\xef", b"\xff", b"\xe2\x82"]
SOUP += [bytes([c]) for c in b"dateiry0123456789"]
SOUP += [b"data", b"event", b"id", b"retry", b"data: ", b"\r\n", b"\n\n"]

LINES = [b"data: a", b"data: \xe2\x82\xac", b"data: \xff", b"data: ", b"data:b", b"data",
         b"id: 7", b"id: 8\0", b"id", b"event: e", b"event:", b": c", b"retry: 9", b"x: y",
         b"", b"", b"", b"\xef\xbb\xbfdata: d"]  # fmt: skip
# Streams of whole lines, many of them blank: the decoder's fast paths for common
# blocks (one data line; header lines then data lines) meet every other kind here.
soup = st.one_of(
    st.lists(st.sampled_from(SOUP), max_size=60).map(b"".join),
    st.lists(
        st.tuples(st.sampled_from(LINES), st.sampled_from([b"\n", b"\r", b"\r\n"])), max_size=40
    ).map(lambda pairs: b"".join(line + end for line, end in pairs)),
)


def cut(stream: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({0, len(stream), *(p % (len(stream) + 1) for p in points)})
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


def outcome(twin: ModuleType, chunks: list[bytes], **kwargs: Any) -> tuple[object, ...]:
    """Events, then the exception or final state: everything a caller can observe."""
    decoder = twin.Decoder(**kwargs)
    events: list[tuple[object, ...]] = []
    try:
        for chunk in chunks:
            events.extend(ev._fields() for ev in decoder.feed(chunk))
            events.append(("chunk",))
        events.extend(ev._fields() for ev in decoder.close())
    except ValueError as exc:
        return (events, type(exc), str(exc))
    return (events, decoder.last_event_id, decoder.retry)


def whole(twin: ModuleType, chunks: list[bytes]) -> tuple[object, ...]:
    events, *state = outcome(twin, chunks)
    assert isinstance(events, list)
    return ([e for e in events if e != ("chunk",)], *state)


@given(stream=soup, points=st.lists(st.integers(0, 1000), max_size=12))
def test_any_rechunking_yields_the_same_events_and_state(stream: bytes, points: list[int]) -> None:
    for twin in (compiled, pure):
        expected = whole(twin, [stream])
        assert whole(twin, cut(stream, points)) == expected
        assert whole(twin, [stream[i : i + 1] for i in range(len(stream))]) == expected


@pytest.mark.compiled
@given(stream=soup, points=st.lists(st.integers(0, 1000), max_size=8))
def test_compiled_equals_pure_on_byte_soup(stream: bytes, points: list[int]) -> None:
    chunks = cut(stream, points)
    assert outcome(compiled, chunks) == outcome(pure, chunks)


@pytest.mark.compiled
@given(
    stream=soup,
    points=st.lists(st.integers(0, 1000), max_size=8),
    limit=st.integers(1, 24),
)
def test_compiled_equals_pure_with_a_small_size_limit(
    stream: bytes, points: list[int], limit: int
) -> None:
    chunks = cut(stream, points)
    assert outcome(compiled, chunks, max_event_size=limit) == outcome(
        pure, chunks, max_event_size=limit
    )


@given(stream=soup)
def test_decoder_agrees_with_the_reference_reading_of_the_spec(stream: bytes) -> None:
    expected = reference_parse(stream)
    for twin in (compiled, pure):
        decoder = twin.Decoder()
        events = decoder.feed(stream) + decoder.close()
        assert [(ev.event, ev.data, ev.id) for ev in events] == expected.events
        assert decoder.last_event_id == expected.last_event_id
        capped = None if expected.retry is None else min(expected.retry, 2**63 - 1)
        assert decoder.retry == capped


line_text = st.text(st.characters(codec="utf-8"), max_size=12)
sent = st.lists(
    st.fixed_dictionaries(
        {"data": line_text},
        optional={
            "event": line_text.filter(lambda s: "\r" not in s and "\n" not in s),
            "id": line_text.filter(lambda s: not {"\r", "\n", "\0"} & set(s)),
        },
    ),
    max_size=8,
)


@given(events=sent, sep=st.sampled_from(["\n", "\r\n", "\r"]))
def test_decode_of_encode_is_identity(events: list[dict[str, str]], sep: str) -> None:
    for name in TWINS:
        framing = load_twin(name)
        wire = framing.encode_many([framing.ServerSentEvent(**fields) for fields in events], sep)
        decoder = importlib.import_module(f"sse_fast._decoder_{name}").Decoder()
        decoded = decoder.feed(wire) + decoder.close()
        last_id = ""
        expected = []
        for fields in events:
            last_id = fields.get("id", last_id)
            data = fields["data"].replace("\r\n", "\n").replace("\r", "\n")
            expected.append(
                framing.ServerSentEvent(data, event=fields.get("event") or "message", id=last_id)
            )
        assert decoded == expected
