"""What a decoder holds on to, and what it does when it is misused: on both twins."""

from __future__ import annotations

import gc
import tracemalloc
import weakref
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from sse_fast import EventTooLarge

LONG = 4 * 1024 * 1024


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def held_bytes() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@pytest.mark.usefixtures("traced")
def test_line_buffer_is_given_back_after_a_long_line(decoding: SimpleNamespace) -> None:
    decoder = decoding.Decoder()
    decoder.feed(b": " + b"x" * LONG)  # a comment line split across chunks
    assert decoder.feed(b"\n") == []
    assert held_bytes() < LONG // 4


@pytest.mark.usefixtures("traced")
def test_buffers_are_given_back_by_close(decoding: SimpleNamespace) -> None:
    decoder = decoding.Decoder()
    decoder.feed(b"data: " + b"x" * LONG + b"\ndata: " + b"y" * LONG)
    assert decoder.close() == []
    assert held_bytes() < LONG // 4


class Payload(bytes):
    """bytes with a __dict__: it can refer back to the event that holds it."""


class Marker:
    pass


def test_decoded_event_reinitialised_into_a_cycle_is_collected(
    decoding: SimpleNamespace,
) -> None:
    (event,) = decoding.Decoder().feed(b"data: x\n\n")
    payload = Payload(b"y")
    marker = Marker()
    payload.__dict__.update(event=event, marker=marker)
    event.__init__(payload)
    assert gc.is_tracked(event)
    alive = weakref.ref(marker)
    del event, payload, marker
    gc.collect()
    assert alive() is None


def test_feed_reentered_during_feed_is_refused(decoding: SimpleNamespace) -> None:
    decoder = decoding.Decoder()
    refusals: list[str] = []

    def feed_again(phase: str, info: dict[str, int]) -> None:
        # A garbage collection that starts inside feed() runs this callback there.
        if phase == "start":
            try:
                decoder.feed(b": re-entered\n")
            except RuntimeError as exc:
                refusals.append(str(exc))

    threshold = gc.get_threshold()
    gc.callbacks.append(feed_again)
    gc.set_threshold(1)
    try:
        events = decoder.feed(b"data: x\n\n" * 50)
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(feed_again)
    assert len(events) == 50
    assert refusals
    assert set(refusals) == {
        "Decoder is already in use: by another thread, or re-entered from code that "
        "runs during feed() or close()"
    }


@pytest.mark.parametrize(
    "overflow",
    [b"id: 2\ndata: 123456789id: 666", b"id: 2\ndata: 123456789\ndata: 123456789\n"],
    ids=["line", "data"],
)
def test_feed_after_event_too_large_is_refused_until_close(
    decoding: SimpleNamespace, overflow: bytes
) -> None:
    decoder = decoding.Decoder(max_event_size=16)
    decoder.feed(b"id: 1\n\n")
    with pytest.raises(EventTooLarge):
        decoder.feed(overflow)
    assert decoder.last_event_id == "1"
    # The rest of the overlong line must never be read as a line ("id: 666").
    with pytest.raises(RuntimeError, match=r"stopped at EventTooLarge.*call close\(\)"):
        decoder.feed(b"\n\ndata: y\n\n")
    assert decoder.last_event_id == "1"
    assert decoder.close() == []
    (event,) = decoder.feed(b"data: z\n\n")
    assert (event.data, event.id) == ("z", "1")
