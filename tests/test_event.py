"""ServerSentEvent: an immutable, validated value object, alike in both twins."""

from __future__ import annotations

import copy
import pickle
from datetime import timedelta
from types import ModuleType

import pytest


def test_fields_are_kept_as_given(framing: ModuleType) -> None:
    event = framing.ServerSentEvent("d", event="e", id="i", retry=3, comment="c")
    assert (event.data, event.event, event.id, event.retry, event.comment) == (
        "d",
        "e",
        "i",
        3,
        "c",
    )


def test_all_fields_default_to_none(framing: ModuleType) -> None:
    event = framing.ServerSentEvent()
    assert (event.data, event.event, event.id, event.retry, event.comment) == (None,) * 5


def test_only_data_is_positional(framing: ModuleType) -> None:
    with pytest.raises(TypeError, match="positional argument"):
        framing.ServerSentEvent("d", "e")


def test_retry_timedelta_is_stored_as_milliseconds(framing: ModuleType) -> None:
    assert framing.ServerSentEvent(retry=timedelta(seconds=3)).retry == 3000


def test_bytes_data_is_kept_as_bytes(framing: ModuleType) -> None:
    assert framing.ServerSentEvent(b"raw").data == b"raw"


@pytest.mark.parametrize("name", ["data", "event", "id", "retry", "comment", "other"])
def test_event_is_immutable(framing: ModuleType, name: str) -> None:
    event = framing.ServerSentEvent("x")
    with pytest.raises(AttributeError, match=f"'{name}'"):
        setattr(event, name, "y")
    assert event == framing.ServerSentEvent("x")


def test_equal_fields_make_equal_events(framing: ModuleType) -> None:
    a = framing.ServerSentEvent("x", event="e", id="1", retry=timedelta(seconds=1))
    b = framing.ServerSentEvent("x", event="e", id="1", retry=1000)
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1


@pytest.mark.parametrize(
    "other",
    [{"data": "y"}, {"event": "f"}, {"id": "2"}, {"retry": 2}, {"comment": "c"}, {"data": b"x"}],
)
def test_any_differing_field_makes_events_unequal(
    framing: ModuleType, other: dict[str, object]
) -> None:
    base = {"data": "x", "event": "e", "id": "1", "retry": 1}
    assert framing.ServerSentEvent(**base) != framing.ServerSentEvent(**{**base, **other})


def test_event_is_not_equal_to_other_types(framing: ModuleType) -> None:
    event = framing.ServerSentEvent("x")
    assert event != "x"
    assert event != ("x", None, None, None, None)


def test_repr_shows_the_fields_that_are_set(framing: ModuleType) -> None:
    assert repr(framing.ServerSentEvent("a\nb", id="1")) == "ServerSentEvent('a\\nb', id='1')"
    no_data = framing.ServerSentEvent(retry=5, comment="c")
    assert repr(no_data) == "ServerSentEvent(retry=5, comment='c')"
    assert repr(framing.ServerSentEvent(b"x", event="e")) == "ServerSentEvent(b'x', event='e')"


def test_pickle_round_trip(framing: ModuleType) -> None:
    event = framing.ServerSentEvent("é\nx", event="e", id="1", retry=10, comment="c")
    restored = pickle.loads(pickle.dumps(event))
    assert restored == event
    assert type(restored) is type(event)


def test_copy_gives_an_equal_event(framing: ModuleType) -> None:
    event = framing.ServerSentEvent("x", id="1")
    assert copy.copy(event) == event
    assert copy.deepcopy(event) == event


def test_subclass_encodes_like_its_base(framing: ModuleType) -> None:
    class Tick(framing.ServerSentEvent):  # type: ignore[name-defined,misc]
        pass

    tick = Tick("1", event="tick")
    assert tick.encode() == b"event: tick\ndata: 1\n\n"
    assert framing.encode_many([tick, "2"]) == b"event: tick\ndata: 1\n\ndata: 2\n\n"


def test_encode_is_repeatable(framing: ModuleType) -> None:
    event = framing.ServerSentEvent("x\ny", event="e")
    assert event.encode() == event.encode() == b"event: e\ndata: x\ndata: y\n\n"


def test_failed_reinit_leaves_the_event_as_it_was(framing: ModuleType) -> None:
    event = framing.ServerSentEvent("old", event="tick")
    # A free-threaded build refuses any second __init__ (TypeError); others validate first.
    with pytest.raises((TypeError, ValueError)):
        event.__init__("x" * 1000 + "new", event="bad\nline")
    assert event._fields() == ("old", "tick", None, None, None)
    assert event.encode() == b"event: tick\ndata: old\n\n"
