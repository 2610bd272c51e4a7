"""Inputs on which differential fuzzing once found the twins disagreeing; each is pinned
here on both twins, with the behaviour both now have."""

from __future__ import annotations

import copy
import pickle
from types import ModuleType, SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from twins import TWINS, load_twin


class EqualToLF:
    """Not a str, but equal to one (and hashing like it)."""

    def __eq__(self, other: object) -> bool:
        return other == "\n"

    def __hash__(self) -> int:
        return hash("\n")


class BlindContains(str):
    def __contains__(self, item: object) -> bool:
        return False


class NoReplace(str):
    def replace(self, *args: Any, **kwargs: Any) -> str:
        return "replaced"


class SaysAscii(str):
    def isascii(self) -> bool:
        return True


class OtherStr(str):
    def __str__(self) -> str:
        return "other"


class LyingBytes(bytes):
    def decode(self, *args: Any, **kwargs: Any) -> str:
        return "decoded"


def test_sep_equal_to_lf_but_not_a_str_is_refused(framing: ModuleType) -> None:
    with pytest.raises(TypeError, match="sep must be one of"):
        framing.encode("x", sep=EqualToLF())
    with pytest.raises(TypeError, match="sep must be one of"):
        framing.ServerSentEvent("x").encode(EqualToLF())
    with pytest.raises(TypeError, match="sep must be one of"):
        framing.encode_many(["x"], EqualToLF())


def test_sep_of_a_str_subclass_frames_by_its_value(framing: ModuleType) -> None:
    class Sep(str):
        pass

    assert framing.encode("x", sep=Sep("\r\n")) == b"data: x\r\n\r\n"


@pytest.mark.parametrize("field", ["event", "id"])
def test_str_subclass_hiding_a_line_break_from_in_is_refused(
    framing: ModuleType, field: str
) -> None:
    value = BlindContains("a\nb")
    with pytest.raises(ValueError, match=f"{field} must not contain line separators"):
        framing.encode("x", **{field: value})
    with pytest.raises(ValueError, match=f"{field} must not contain line separators"):
        framing.ServerSentEvent("x", **{field: value})


def test_str_subclass_overriding_replace_is_framed_by_its_value(framing: ModuleType) -> None:
    assert framing.encode(NoReplace("a\nb")) == b"data: a\ndata: b\n\n"
    assert framing.encode_many([NoReplace("a\rb")]) == b"data: a\ndata: b\n\n"
    assert framing.ServerSentEvent(comment=NoReplace("a\nb")).encode() == b": a\n: b\n\n"


def test_str_subclass_claiming_ascii_still_has_its_surrogate_found(framing: ModuleType) -> None:
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed in data") as caught:
        framing.encode(SaysAscii("a\ud800"))
    assert caught.value.start == 1


def test_str_subclass_fields_are_kept_as_exact_str(framing: ModuleType) -> None:
    event = framing.ServerSentEvent(OtherStr("d"), event=OtherStr("e"), comment=OtherStr("c"))
    assert [type(value) for value in (event.data, event.event, event.comment)] == [str] * 3
    assert event.encode() == b": c\nevent: e\ndata: d\n\n"


def test_bytes_subclass_overriding_decode_gets_the_decode_error(framing: ModuleType) -> None:
    with pytest.raises(UnicodeDecodeError, match="invalid start byte in data"):
        framing.encode(LyingBytes(b"\xff"))


@pytest.mark.parametrize("retry", [10**5000, -(10**5000)], ids=["huge", "huge-negative"])
def test_retry_too_large_to_print_gets_the_documented_error(
    framing: ModuleType, retry: int
) -> None:
    with pytest.raises(ValueError, match=r"^retry must .* an int of 16610 bits$"):
        framing.encode("x", retry=retry)


def test_object_faking_str_class_is_not_a_str(framing: ModuleType) -> None:
    fake = mock.Mock(spec=str)
    assert isinstance(fake, str)
    with pytest.raises(TypeError, match="data must be str or bytes, not Mock"):
        framing.encode(fake)
    with pytest.raises(TypeError, match="event must be str, not Mock"):
        framing.ServerSentEvent("x", event=fake)
    with pytest.raises(TypeError, match=r"items must be ServerSentEvent or str, not Mock"):
        framing.encode_many([fake])


def test_event_made_without_init_is_the_empty_event(framing: ModuleType) -> None:
    cls = framing.ServerSentEvent
    event = cls.__new__(cls)
    assert (event.data, event.event, event.id, event.retry, event.comment) == (None,) * 5
    assert event.encode() == b"\n"
    assert repr(event) == "ServerSentEvent()"
    assert event == cls()


def test_subclass_skipping_super_init_is_the_empty_event(framing: ModuleType) -> None:
    class Lazy(framing.ServerSentEvent):  # type: ignore[name-defined, misc]
        def __init__(self, data: str) -> None:
            pass

    assert Lazy("x").encode() == b"\n"
    assert framing.encode_many([Lazy("x"), "y"]) == b"\ndata: y\n\n"


def test_subclass_property_does_not_change_what_is_framed(framing: ModuleType) -> None:
    class Shadowing(framing.ServerSentEvent):  # type: ignore[name-defined, misc]
        @property
        def event(self) -> str:
            return "forged\ndata: injected"

    made = Shadowing("x", event="ok")
    assert made.encode() == b"event: ok\ndata: x\n\n"
    assert framing.encode_many([made]) == b"event: ok\ndata: x\n\n"
    assert made == framing.ServerSentEvent("x", event="ok")
    assert repr(made) == "ServerSentEvent('x', event='ok')"


def tagged_class(twin: str) -> type:
    """A subclass with a slot of its own, like the Starlette adapter's ``sep``."""

    class Tagged(load_twin(twin).ServerSentEvent):  # type: ignore[misc]
        __slots__ = ("tag",)

        def __init__(self, data: str, tag: str) -> None:
            super().__init__(data, id="1")
            object.__setattr__(self, "tag", tag)

    # A module-level name, so that pickle finds the class.
    Tagged.__name__ = Tagged.__qualname__ = f"Tagged_{twin}"
    return Tagged


def noted_class(twin: str) -> type:
    """A subclass with a __dict__ and a one-name __slots__ string below it."""

    class Noted(TAGGED[twin]):  # type: ignore[misc, valid-type]
        pass

    class NotedSlot(Noted):
        __slots__ = "note"

    Noted.__name__ = Noted.__qualname__ = f"Noted_{twin}"
    NotedSlot.__name__ = NotedSlot.__qualname__ = f"NotedSlot_{twin}"
    globals().update({Noted.__name__: Noted, NotedSlot.__name__: NotedSlot})
    return NotedSlot


TAGGED = {twin: tagged_class(twin) for twin in TWINS}
globals().update({cls.__name__: cls for cls in TAGGED.values()})
NOTED = {twin: noted_class(twin) for twin in TWINS}


@pytest.mark.parametrize("duplicate", [copy.copy, copy.deepcopy, "pickle"])
def test_copy_and_pickle_keep_a_subclass_and_its_attributes(
    framing: ModuleType, duplicate: Any
) -> None:
    original = TAGGED[framing.__name__.rsplit("_", 1)[1]]("x", tag="t")
    made = pickle.loads(pickle.dumps(original)) if duplicate == "pickle" else duplicate(original)
    assert type(made) is type(original)
    assert made.tag == "t"
    assert made == original
    assert made.encode() == b"id: 1\ndata: x\n\n"


def test_copy_of_a_base_event_is_equal(framing: ModuleType) -> None:
    event = framing.ServerSentEvent("x", event="e", id="1", retry=5, comment="c")
    assert type(copy.copy(event)) is framing.ServerSentEvent
    assert pickle.loads(pickle.dumps(event)) == event


def test_decoder_seed_with_a_lone_surrogate_is_refused(decoding: SimpleNamespace) -> None:
    with pytest.raises(UnicodeEncodeError, match="in last_event_id"):
        decoding.Decoder(last_event_id="a\ud800")


def test_decoder_seed_of_a_str_subclass_is_kept_as_exact_str(decoding: SimpleNamespace) -> None:
    decoder = decoding.Decoder(last_event_id=BlindContains("5"))
    assert type(decoder.last_event_id) is str
    with pytest.raises(ValueError, match="last_event_id must not contain CR"):
        decoding.Decoder(last_event_id=BlindContains("a\nb"))


@pytest.mark.parametrize("duplicate", [copy.copy, pickle.dumps])
def test_decoder_refuses_copy_and_pickle_naming_its_class(
    decoding: SimpleNamespace, duplicate: Any
) -> None:
    with pytest.raises(TypeError, match=r"^cannot pickle 'Decoder' object$"):
        duplicate(decoding.Decoder())


def test_decoder_made_without_init_is_a_default_decoder(decoding: SimpleNamespace) -> None:
    decoder = decoding.Decoder.__new__(decoding.Decoder)
    assert (decoder.last_event_id, decoder.retry) == ("", None)
    (event,) = decoder.feed(b"id: 1\ndata: x\n\n")
    assert (event.data, event.id, decoder.last_event_id) == ("x", "1", "1")


def test_decoder_subclass_skipping_super_init_decodes(decoding: SimpleNamespace) -> None:
    class Quiet(decoding.Decoder):  # type: ignore[name-defined, misc]
        def __init__(self) -> None:
            pass

    (event,) = Quiet().feed(b"data: x\n\n")
    assert event.data == "x"


def test_pickle_keeps_a_subclass_dict_and_string_slot(framing: ModuleType) -> None:
    original = NOTED[framing.__name__.rsplit("_", 1)[1]]("x", tag="t")
    object.__setattr__(original, "note", "n")
    object.__setattr__(original, "extra", 1)
    made = pickle.loads(pickle.dumps(original))
    assert (type(made), made.tag, made.note, made.extra) == (type(original), "t", "n", 1)
