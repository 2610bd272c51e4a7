"""Decoding speed, side by side: sse_fast compiled, sse_fast pure and httpx-sse 0.4.3.

Run with ``make bench``. Each case consumes events as a client does, as they arrive:
each timed run counts them and keeps the last one, which is checked. Every event of
every row is compared with the expected ones once, outside the timing (and under
``make test``), so the rows of the table are known to decode the same events.
(Keeping all 20,000 events alive would mostly time the allocator's cache misses,
the same for every row.)

httpx-sse is driven the way its ``EventSource.aiter_sse()`` drives it, without the
HTTP client: bytes are decoded with an incremental UTF-8 decoder (as httpx's
``aiter_text()`` does), split by its ``SSELineDecoder`` and interpreted by its
``SSEDecoder``, one ``rstrip("\\n")`` per line as in ``aiter_sse()``.
"""

from __future__ import annotations

import codecs
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from httpx_sse._decoders import SSEDecoder, SSELineDecoder
from pytest_benchmark.fixture import BenchmarkFixture

compiled = importlib.import_module("sse_fast._decoder_c")
pure_decoder = importlib.import_module("sse_fast._decoder_py")
pure = importlib.import_module("sse_fast._framing_py")

CHUNK = 64 * 1024
Decoded = tuple[int, Any]  # how many events, and the last one


@dataclass(frozen=True)
class Stream:
    name: str
    events: list[tuple[str, str, str]]  # (type, data, id) as a browser sees them
    chunks: list[bytes]


def make_stream(name: str, events: list[Any]) -> Stream:
    wire = pure.encode_many(events)
    seen = []
    last_id = ""
    for ev in events:
        if isinstance(ev, str):
            seen.append(("message", ev, last_id))
        else:
            last_id = ev.id if ev.id is not None else last_id
            seen.append((ev.event or "message", ev.data, last_id))
    return Stream(name, seen, [wire[i : i + CHUNK] for i in range(0, len(wire), CHUNK)])


TOKENS = make_stream(
    "D1 20,000-event token stream, 64 KiB chunks",
    [f'{{"choices":[{{"delta":{{"content":"tok{i:05d}"}}}}]}}' for i in range(20_000)],
)
_LINE = ("The quick brown fox jumps over the lazy dog. " * 2)[:63]
MULTILINE = make_stream(
    "D2 256 events of 4 KiB in 64 lines, 64 KiB chunks",
    [pure.ServerSentEvent("\n".join([_LINE] * 64), event="report", id=str(i)) for i in range(256)],
)
STREAMS = [TOKENS, MULTILINE]


def sse_fast_decode(twin: Any) -> Callable[[list[bytes], list[Any] | None], Decoded]:
    def decode(chunks: list[bytes], keep: list[Any] | None = None) -> Decoded:
        decoder = twin.Decoder()
        count = 0
        last = None
        for chunk in chunks:
            events = decoder.feed(chunk)
            if events:
                count += len(events)
                last = events[-1]
                if keep is not None:
                    keep += events
        return count, last

    return decode


def httpx_sse_decode(chunks: list[bytes], keep: list[Any] | None = None) -> Decoded:
    text_decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    line_decoder = SSELineDecoder()
    decoder = SSEDecoder()
    count = 0
    last = None
    for chunk in chunks:
        for line in line_decoder.decode(text_decoder.decode(chunk)):
            event = decoder.decode(line.rstrip("\n"))
            if event is not None:
                count += 1
                last = event
                if keep is not None:
                    keep.append(event)
    return count, last


IMPLEMENTATIONS = {
    "sse_fast compiled": sse_fast_decode(compiled),
    "sse_fast pure": sse_fast_decode(pure_decoder),
    "httpx-sse 0.4.3": httpx_sse_decode,
}


def seen(events: list[Any]) -> list[tuple[str, str, str]]:
    return [(ev.event, ev.data, ev.id) for ev in events]


@pytest.mark.parametrize("impl", list(IMPLEMENTATIONS))
@pytest.mark.parametrize("stream", STREAMS, ids=[s.name.split()[0] for s in STREAMS])
def test_decode(benchmark: BenchmarkFixture, stream: Stream, impl: str) -> None:
    benchmark.group = stream.name
    decode = IMPLEMENTATIONS[impl]
    every: list[Any] = []
    decode(stream.chunks, every)
    assert seen(every) == stream.events
    count, last = benchmark(decode, stream.chunks)
    assert count == len(stream.events)
    assert seen([last]) == stream.events[-1:]
