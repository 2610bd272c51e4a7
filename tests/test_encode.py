"""The wire format the encoder produces (WHATWG HTML §9.2.5), on both twins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import ModuleType

import pytest
from reference import Parsed

SEPARATORS = ["\n", "\r\n", "\r"]


def test_data_only_event(framing: ModuleType) -> None:
    assert framing.encode('{"token":"hello"}') == b'data: {"token":"hello"}\n\n'


def test_fields_leave_in_a_fixed_order(framing: ModuleType) -> None:
    wire = framing.encode("d", event="e", id="i", retry=5, comment="c")
    assert wire == b": c\nid: i\nevent: e\ndata: d\nretry: 5\n\n"


def test_every_field_has_a_space_after_its_colon(framing: ModuleType) -> None:
    wire = framing.encode(":x", event=" y", id=":", comment=" z")
    assert wire == b":  z\nid: :\nevent:  y\ndata: :x\n\n"


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        ("a\nb", [b"a", b"b"]),
        ("a\r\nb", [b"a", b"b"]),
        ("a\rb", [b"a", b"b"]),
        ("a\r\rb", [b"a", b"", b"b"]),
        ("a\n\rb", [b"a", b"", b"b"]),
        ("a\r\n\nb", [b"a", b"", b"b"]),
        ("\na", [b"", b"a"]),
    ],
)
def test_data_is_split_on_crlf_cr_and_lf(
    framing: ModuleType, data: str, lines: list[bytes]
) -> None:
    expected = b"".join(b"data: " + line + b"\n" for line in lines) + b"\n"
    assert framing.encode(data) == expected


def test_trailing_newline_keeps_its_empty_line(framing: ModuleType) -> None:
    assert framing.encode("a\n") == b"data: a\ndata: \n\n"


def test_empty_data_is_one_empty_data_line(framing: ModuleType) -> None:
    assert framing.encode("") == b"data: \n\n"


def test_none_data_sends_no_data_line(framing: ModuleType) -> None:
    assert framing.encode(None, id="7") == b"id: 7\n\n"


def test_event_with_no_fields_is_a_blank_line(framing: ModuleType) -> None:
    assert framing.encode() == b"\n"


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1e"])
def test_unicode_line_separators_are_not_line_ends(framing: ModuleType, char: str) -> None:
    assert framing.encode(f"a{char}b") == b"data: a" + char.encode() + b"b\n\n"


@pytest.mark.parametrize("text", ["café", "naïve\nçà", "€ 5\r\n¥", "😀\r🎉", "a\x00é"])
def test_non_ascii_text_is_utf8(framing: ModuleType, text: str) -> None:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    expected = b"".join(b"data: " + line.encode() + b"\n" for line in lines) + b"\n"
    assert framing.encode(text) == expected


def test_nul_in_data_is_kept(framing: ModuleType) -> None:
    assert framing.encode("a\x00b") == b"data: a\x00b\n\n"


def test_bytes_data_is_framed_as_is(framing: ModuleType) -> None:
    assert framing.encode("é\r\nx".encode()) == b"data: \xc3\xa9\ndata: x\n\n"


def test_bytes_and_str_data_give_the_same_frame(framing: ModuleType) -> None:
    text = "line one\r\nligne deux é\rthird\n"
    assert framing.encode(text.encode()) == framing.encode(text)


def test_comment_is_split_into_colon_lines(framing: ModuleType) -> None:
    assert framing.encode(comment="a\r\nb\rc") == b": a\n: b\n: c\n\n"


def test_empty_comment_is_one_colon_line(framing: ModuleType) -> None:
    assert framing.encode(comment="") == b": \n\n"


def test_empty_event_and_id_are_sent(framing: ModuleType) -> None:
    assert framing.encode("x", event="", id="") == b"id: \nevent: \ndata: x\n\n"


@pytest.mark.parametrize("sep", SEPARATORS)
def test_separator_ends_every_line(framing: ModuleType, sep: str) -> None:
    wire = framing.encode("a\nb", event="e", id="1", retry=0, comment="c", sep=sep)
    expected = sep.join([": c", "id: 1", "event: e", "data: a", "data: b", "retry: 0", "", ""])
    assert wire == expected.encode()


@pytest.mark.parametrize("sep", SEPARATORS)
def test_data_line_ends_become_the_separator(framing: ModuleType, sep: str) -> None:
    assert (
        framing.encode("a\r\nb\rc\nd", sep=sep)
        == sep.join(["data: a", "data: b", "data: c", "data: d", "", ""]).encode()
    )


def test_retry_zero(framing: ModuleType) -> None:
    assert framing.encode(retry=0) == b"retry: 0\n\n"


def test_retry_largest_value(framing: ModuleType) -> None:
    assert framing.encode(retry=2**63 - 1) == b"retry: 9223372036854775807\n\n"


def test_retry_timedelta_is_milliseconds(framing: ModuleType) -> None:
    assert framing.encode(retry=timedelta(seconds=2.5)) == b"retry: 2500\n\n"


def test_retry_timedelta_is_truncated_to_whole_milliseconds(framing: ModuleType) -> None:
    assert framing.encode(retry=timedelta(microseconds=1999)) == b"retry: 1\n\n"


def test_retry_int_subclass_is_written_as_a_number(framing: ModuleType) -> None:
    import enum

    class Delay(enum.IntEnum):
        SHORT = 250

    assert framing.encode(retry=Delay.SHORT) == b"retry: 250\n\n"


def test_str_subclass_values_are_accepted(framing: ModuleType) -> None:
    class Text(str):
        pass

    assert framing.encode(Text("a\nb"), event=Text("t")) == b"event: t\ndata: a\ndata: b\n\n"


def test_module_encode_equals_event_encode(framing: ModuleType) -> None:
    fields = {"event": "tick", "id": "42", "retry": 1000, "comment": "note"}
    for sep in SEPARATORS:
        event = framing.ServerSentEvent("x\ny", **fields)
        assert event.encode(sep) == framing.encode("x\ny", sep=sep, **fields)


def test_large_data_with_many_lines(framing: ModuleType) -> None:
    lines = [f"line {i} " + "x" * (i % 97) for i in range(5000)]
    wire = framing.encode("\n".join(lines))
    assert wire == b"".join(b"data: " + line.encode() + b"\n" for line in lines) + b"\n"


def test_large_data_with_mixed_line_ends(framing: ModuleType) -> None:
    ends = ["\n", "\r\n", "\r"]
    text = "".join(f"{i}é" + ends[i % 3] for i in range(3000))
    pieces = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assert framing.encode(text) == b"".join(b"data: " + p.encode() + b"\n" for p in pieces) + b"\n"


def test_data_cannot_start_a_second_event(
    framing: ModuleType, parse: Callable[[bytes], Parsed]
) -> None:
    hostile = "a\n\nevent: evil\ndata: injected\r\n\r\nid: 666\r\rretry: 1\n"
    parsed = parse(framing.encode(hostile, id="1"))
    assert parsed.events == [("message", hostile.replace("\r\n", "\n").replace("\r", "\n"), "1")]
    assert parsed.retry is None


class TestEncodeMany:
    def test_equals_the_concatenation_of_single_encodes(self, framing: ModuleType) -> None:
        events = [framing.ServerSentEvent("a", id="1"), "b\nc", framing.ServerSentEvent(retry=9)]
        expected = framing.encode("a", id="1") + framing.encode("b\nc") + framing.encode(retry=9)
        assert framing.encode_many(events) == expected

    @pytest.mark.parametrize("sep", SEPARATORS)
    def test_separator_applies_to_every_item(self, framing: ModuleType, sep: str) -> None:
        events = ["x\ny", framing.ServerSentEvent("z", event="e")]
        expected = framing.encode("x\ny", sep=sep) + framing.encode("z", event="e", sep=sep)
        assert framing.encode_many(events, sep=sep) == expected

    def test_accepts_any_iterable(self, framing: ModuleType) -> None:
        assert framing.encode_many(x for x in ("a", "b")) == b"data: a\n\ndata: b\n\n"
        assert framing.encode_many(("a",)) == b"data: a\n\n"

    def test_empty_iterable_gives_empty_bytes(self, framing: ModuleType) -> None:
        assert framing.encode_many([]) == b""

    def test_non_ascii_and_multiline_str_items(self, framing: ModuleType) -> None:
        items = ["é\r\nü", "", "\n", "😀"]
        assert framing.encode_many(items) == b"".join(framing.encode(i) for i in items)

    def test_many_token_events(self, framing: ModuleType) -> None:
        tokens = [f'{{"token":"t{i}"}}' for i in range(1000)]
        assert framing.encode_many(tokens) == b"".join(framing.encode(t) for t in tokens)
