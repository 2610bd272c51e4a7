"""Bad input raises a clear exception naming the field, before any byte is produced."""

from __future__ import annotations

import math
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
from twins import TWINS, load_twin


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\r\nb", "\n", "é\n", "😀\r"])
def test_event_with_cr_or_lf_is_rejected(framing: ModuleType, value: str) -> None:
    with pytest.raises(ValueError, match=r"^event must not contain line separators \(CR or LF\): "):
        framing.encode("x", event=value)


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "1\r\n", "a\x00b", "\x00", "é\x00", "😀\n"])
def test_id_with_cr_lf_or_nul_is_rejected(framing: ModuleType, value: str) -> None:
    with pytest.raises(
        ValueError,
        match=r"^id must not contain line separators or null characters \(CR, LF or NUL\): ",
    ):
        framing.encode("x", id=value)


def test_nul_in_event_is_allowed(framing: ModuleType) -> None:
    assert framing.encode("x", event="a\x00") == b"event: a\x00\ndata: x\n\n"


def test_error_message_shows_the_value(framing: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"^event") as info:
        framing.encode(event="tick\nevent: evil")
    assert (
        str(info.value) == "event must not contain line separators (CR or LF): 'tick\\nevent: evil'"
    )


def test_error_message_shortens_a_long_value(framing: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"^id") as info:
        framing.encode(id="x" * 1000 + "\n")
    assert str(info.value).endswith("... (1001 long)")
    assert len(str(info.value)) < 150


@pytest.mark.parametrize(
    ("retry", "error"),
    [
        (True, TypeError),
        (False, TypeError),
        (1.0, TypeError),
        (math.nan, TypeError),
        (math.inf, TypeError),
        ("5", TypeError),
        (b"5", TypeError),
        (-1, ValueError),
        (-(2**70), ValueError),
        (2**63, ValueError),
        (2**100, ValueError),
        (timedelta(milliseconds=-1), ValueError),
    ],
)
def test_bad_retry_is_rejected(framing: ModuleType, retry: object, error: type[Exception]) -> None:
    # A wrong type keeps sse-starlette's opening words; a wrong value names the value.
    start = "retry argument must be int " if error is TypeError else "retry must "
    with pytest.raises(error, match=f"^{start}"):
        framing.encode("x", retry=retry)


@pytest.mark.parametrize("data", [1, 1.5, {"a": 1}, ["a"], bytearray(b"a"), memoryview(b"a")])
def test_data_of_wrong_type_is_rejected(framing: ModuleType, data: object) -> None:
    with pytest.raises(TypeError, match=rf"^data must be str or bytes, not {type(data).__name__}$"):
        framing.encode(data)


@pytest.mark.parametrize("field", ["event", "id", "comment"])
@pytest.mark.parametrize("value", [b"bytes", 1, ["x"]])
def test_text_field_of_wrong_type_is_rejected(
    framing: ModuleType, field: str, value: object
) -> None:
    kwargs: dict[str, Any] = {field: value}
    with pytest.raises(TypeError, match=rf"^{field} must be str, not {type(value).__name__}$"):
        framing.encode("x", **kwargs)


@pytest.mark.parametrize("field", ["data", "event", "id", "comment"])
@pytest.mark.parametrize("value", ["\ud800", "a\udfff", "é\udc80z", "😀\ud83d", "\ud83d\ude00"])
def test_lone_surrogate_is_rejected_naming_the_field(
    framing: ModuleType, field: str, value: str
) -> None:
    kwargs: dict[str, Any] = {field: value}
    with pytest.raises(UnicodeEncodeError, match=rf"surrogates not allowed in {field}$"):
        framing.encode(**kwargs)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff",
        b"\x80",
        b"ok\xc0\xaf",  # overlong "/"
        b"\xe0\x80\xaf",  # overlong, three bytes
        b"\xed\xa0\x80",  # a surrogate, encoded
        b"\xf4\x90\x80\x80",  # past U+10FFFF
        b"\xf5\x80\x80\x80",
        b"\xe2\x82",  # truncated at the end
        b"\xe2\x82\nx",  # truncated before a line end
        b"abcdefgh\xc3",  # truncated after a fast-path word
    ],
)
def test_invalid_utf8_bytes_are_rejected(framing: ModuleType, data: bytes) -> None:
    with pytest.raises(UnicodeDecodeError, match=r" in data$"):
        framing.encode(data)


@pytest.mark.parametrize(
    "data", [b"\xc2\x80", b"\xdf\xbf", b"\xe0\xa0\x80", b"\xef\xbf\xbf", b"\xf0\x90\x80\x80"]
)
def test_valid_utf8_boundaries_are_accepted(framing: ModuleType, data: bytes) -> None:
    assert framing.encode(data) == b"data: " + data + b"\n\n"


def test_unicode_errors_are_value_errors(framing: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"in data"):
        framing.encode("\ud800")
    with pytest.raises(ValueError, match=r"in data"):
        framing.encode(b"\xff")


@pytest.mark.parametrize("sep", [" ", "", "\n\n", "\n\r", "\r\n\r\n", "x"])
def test_unknown_separator_is_rejected(framing: ModuleType, sep: str) -> None:
    with pytest.raises(ValueError, match=r"^sep must be one of"):
        framing.encode("x", sep=sep)
    with pytest.raises(ValueError, match=r"^sep must be one of"):
        framing.ServerSentEvent("x").encode(sep)
    with pytest.raises(ValueError, match=r"^sep must be one of"):
        framing.encode_many(["x"], sep=sep)


@pytest.mark.parametrize("sep", [b"\n", None, 10])
def test_separator_of_wrong_type_is_rejected(framing: ModuleType, sep: object) -> None:
    with pytest.raises(TypeError, match=r"^sep must be one of"):
        framing.encode("x", sep=sep)


def test_fields_are_checked_in_argument_order(framing: ModuleType) -> None:
    with pytest.raises(UnicodeEncodeError, match=r"in data"):
        framing.encode("\ud800", event="a\nb", id="\x00", retry=-1, comment=1)
    with pytest.raises(ValueError, match=r"^event"):
        framing.encode("ok", event="a\nb", id="\x00", retry=-1, comment=1)
    with pytest.raises(ValueError, match=r"^retry"):
        framing.encode("ok", retry=-1, comment=1, sep="bad")


def test_line_break_is_reported_before_a_surrogate(framing: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"^id must not contain"):
        framing.encode(id="\ud800\n")


def test_event_construction_validates(framing: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"^event must not contain"):
        framing.ServerSentEvent("x", event="a\nb")
    with pytest.raises(UnicodeDecodeError, match=r"in data$"):
        framing.ServerSentEvent(b"\xff")


class TestEncodeManyValidation:
    def test_bad_item_type_names_its_index(self, framing: ModuleType) -> None:
        with pytest.raises(TypeError, match=r"not bytes \(item 2\)$"):
            framing.encode_many(["a", "b", b"c"])

    def test_bad_str_item_is_rejected(self, framing: ModuleType) -> None:
        with pytest.raises(UnicodeEncodeError, match=r"in data$"):
            framing.encode_many(["ok", "\udc00"])

    def test_other_twins_event_is_rejected(self, framing: ModuleType) -> None:
        if len(TWINS) < 2:
            pytest.skip("one twin installed")
        other = next(load_twin(t) for t in TWINS if load_twin(t) is not framing)
        with pytest.raises(TypeError, match=r"not ServerSentEvent \(item 1\)$"):
            framing.encode_many(["a", other.ServerSentEvent("x")])

    def test_object_with_event_attributes_is_rejected(self, framing: ModuleType) -> None:
        class Imitation:
            data = "x"

        with pytest.raises(TypeError, match=r"not Imitation \(item 0\)$"):
            framing.encode_many([Imitation()])

    def test_iterator_error_propagates(self, framing: ModuleType) -> None:
        def events() -> Any:
            yield "a"
            raise RuntimeError("producer failed")

        with pytest.raises(RuntimeError, match=r"producer failed"):
            framing.encode_many(events())


def test_surrogate_position_counts_the_line_ends_as_given(framing: ModuleType) -> None:
    with pytest.raises(UnicodeEncodeError) as caught:
        framing.encode("\r\n\ud800")
    assert caught.value.start == 2
