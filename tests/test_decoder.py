"""The decoder, one WHATWG rule (HTML §9.2.6) or corollary a test, on both twins."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

import pytest

import sse_fast

Event = tuple[str, str, str]  # (type, data, id)


def decode(decoding: SimpleNamespace, *chunks: bytes, **kwargs: Any) -> list[Event]:
    decoder = decoding.Decoder(**kwargs)
    return events_of(decoder, chunks)


def events_of(decoder: Any, chunks: Iterable[bytes]) -> list[Event]:
    out = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    out.extend(decoder.close())
    return [(ev.event, ev.data, ev.id) for ev in out]


# ---------------------------------------------------------------- line ends


def test_lf_crlf_and_cr_all_end_lines(decoding: SimpleNamespace) -> None:
    stream = b"data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\r\n\ndata: e\n\r"
    assert [data for _, data, _ in decode(decoding, stream)] == ["a", "b", "c", "d", "e"]


def test_cr_and_lf_in_separate_chunks_are_one_line_end(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [
        ("message", "a\nb", "")
    ]


def test_cr_at_chunk_end_does_not_swallow_the_next_byte(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"data: a\r", b"data: b\r", b"\r") == [("message", "a\nb", "")]


def test_event_ending_in_cr_is_dispatched_without_waiting_for_the_next_chunk(
    decoding: SimpleNamespace,
) -> None:
    decoder = decoding.Decoder()
    assert [ev.data for ev in decoder.feed(b"data: a\r\r")] == ["a"]
    assert decoder.feed(b"\n") == []  # the LF pairs with the last CR: no extra line


def test_lf_then_cr_is_two_line_ends(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"data: a\n\r") == [("message", "a", "")]


def test_cr_cr_lf_is_two_line_ends(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"data: a\r\r\ndata: b\n\n") == [
        ("message", "a", ""),
        ("message", "b", ""),
    ]


def test_unicode_line_separators_do_not_end_lines(decoding: SimpleNamespace) -> None:
    text = "a\u2028b\u2029c\x85d\x0be\x0cf"
    assert decode(decoding, f"data: {text}\n\n".encode()) == [("message", text, "")]


# ---------------------------------------------------------------- BOM and UTF-8


def test_one_leading_bom_is_stripped(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"\xef\xbb\xbfdata: a\n\n") == [("message", "a", "")]


def test_bom_split_across_chunks_is_stripped(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"\xef", b"", b"\xbb", b"\xbfdata: a\n\n") == [("message", "a", "")]


def test_only_the_first_bom_is_stripped(decoding: SimpleNamespace) -> None:
    # The second BOM is part of the field name, which is then unknown.
    assert decode(decoding, b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n") == [
        ("message", "b", "")
    ]


def test_bom_after_stream_start_is_data(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"data: \xef\xbb\xbfa\n\n") == [("message", "\ufeffa", "")]


def test_partial_bom_is_an_invalid_sequence_not_a_bom(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"\xef\xbb", b":\n\xef\xbbdata: a\n\ndata: b\n\n") == [
        ("message", "b", "")
    ]
    assert decode(decoding, b"\xef\xbbdata: a\n\n") == []  # "\ufffddata" is no field


def test_invalid_utf8_is_replaced_never_raised(decoding: SimpleNamespace) -> None:
    stream = b"data: \xff\xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80 \xe2\x82\n\n"
    expected = "\ufffd" * 4 + " " + "\ufffd" * 2 + " " + "\ufffd" * 4 + " \ufffd"
    assert decode(decoding, stream) == [("message", expected, "")]


def test_truncated_sequence_before_lf_does_not_swallow_the_lf(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"data: \xe2\x82\ndata: b\n\n") == [("message", "\ufffd\nb", "")]


def test_character_split_across_chunks_decodes_once(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"data: \xe2", b"\x82", b"\xac\n\n") == [("message", "€", "")]


def test_nul_is_an_ordinary_character_outside_id(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"event: a\0b\ndata: \0\n:\0\n\n") == [("a\0b", "\0", "")]


# ---------------------------------------------------------------- fields


def test_first_colon_splits_name_and_value(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"data: a: b:c\n\n") == [("message", "a: b:c", "")]


def test_exactly_one_leading_space_is_removed(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"data:a\ndata: b\ndata:  c\ndata:\td\n\n") == [
        ("message", "a\nb\n c\n\td", "")
    ]


def test_line_without_colon_is_a_field_with_empty_value(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"data\n\n") == [("message", "", "")]
    assert decode(decoding, b"data\ndata\n\n") == [("message", "\n", "")]


def test_line_starting_with_colon_is_a_comment(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b":\n\n: data: x\n\n:data\n\n") == []


def test_field_names_are_case_sensitive_and_unknown_ones_ignored(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"Data: a\n data: b\nfoo: c\ndata : d\ndata: e\n\n") == [
        ("message", "e", "")
    ]


def test_multiple_data_lines_are_joined_with_lf(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"data: YHOO\ndata: +2\ndata: 10\n\n") == [
        ("message", "YHOO\n+2\n10", "")
    ]


def test_one_trailing_lf_is_removed_from_data(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"data: a\ndata\n\n") == [("message", "a\n", "")]


# ---------------------------------------------------------------- dispatch


def test_empty_data_buffer_dispatches_nothing(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"event: add\n\nretry: 5\n\nid: 7\n\n\n\n") == []


def test_event_type_is_message_by_default_and_last_event_field_wins(
    decoding: SimpleNamespace,
) -> None:
    assert decode(decoding, b"data: a\n\nevent: x\nevent: y\ndata: b\n\n") == [
        ("message", "a", ""),
        ("y", "b", ""),
    ]
    assert decode(decoding, b"event: x\nevent:\ndata: c\n\n") == [("message", "c", "")]


def test_event_type_resets_at_every_blank_line(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"event: add\n\ndata: x\n\n") == [("message", "x", "")]


def test_incomplete_event_at_end_of_stream_is_dropped(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"data: a\n\ndata: b\n") == [("message", "a", "")]
    assert decode(decoding, b"data: a\n\ndata: b") == [("message", "a", "")]


def test_close_returns_nothing_and_keeps_last_event_id_and_retry(decoding: SimpleNamespace) -> None:
    decoder = decoding.Decoder()
    assert decoder.feed(b"id: 1\nretry: 20\n\nid: 2\ndata: x\n") == []
    assert decoder.close() == []
    assert (decoder.last_event_id, decoder.retry) == ("1", 20)
    # A new stream may follow: its events carry the committed id.
    assert [ev.id for ev in decoder.feed(b"data: y\n\n")] == ["1"]


# ---------------------------------------------------------------- id


def test_events_carry_the_last_event_id_at_dispatch(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n") == [
        ("message", "a", "1"),
        ("message", "b", "1"),
        ("message", "c", ""),
    ]


def test_id_with_nul_is_ignored(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"id: 1\n\nid: 2\0\ndata: a\n\nid: \0\ndata: b\n\n") == [
        ("message", "a", "1"),
        ("message", "b", "1"),
    ]


def test_id_is_committed_at_blank_line_even_when_no_event_fires(decoding: SimpleNamespace) -> None:
    decoder = decoding.Decoder()
    decoder.feed(b"id: 5\n\n")
    assert decoder.last_event_id == "5"


def test_id_in_an_event_cut_off_by_end_of_stream_is_not_committed(
    decoding: SimpleNamespace,
) -> None:
    decoder = decoding.Decoder()
    decoder.feed(b"id: 5\n\nid: 6\ndata: x\n")
    assert decoder.last_event_id == "5"
    decoder.close()
    assert decoder.last_event_id == "5"


def test_last_event_id_seeds_a_new_stream(decoding: SimpleNamespace) -> None:
    decoder = decoding.Decoder("41")
    assert decoder.last_event_id == "41"
    assert [ev.id for ev in decoder.feed(b"data: a\n\n")] == ["41"]


@pytest.mark.parametrize("seed", ["a\nb", "a\rb", "a\0b"])
def test_seed_id_with_cr_lf_or_nul_is_rejected(decoding: SimpleNamespace, seed: str) -> None:
    with pytest.raises(ValueError, match="last_event_id must not contain"):
        decoding.Decoder(seed)


def test_id_is_decoded_as_utf8(decoding: SimpleNamespace) -> None:
    assert decode(decoding, "id: …\ndata: a\n\n".encode()) == [("message", "a", "…")]


# ---------------------------------------------------------------- retry


def test_retry_takes_effect_when_its_line_is_read(decoding: SimpleNamespace) -> None:
    decoder = decoding.Decoder()
    assert decoder.retry is None
    decoder.feed(b"retry: 1500\n")
    assert decoder.retry == 1500
    decoder.close()  # survives the discarded block
    assert decoder.retry == 1500


@pytest.mark.parametrize(
    "value", [b"+5", b"-5", b"5_0", b"  5", b" 5 ", b"5.0", b"", "\uff15".encode(), "²".encode()]
)
def test_retry_accepts_ascii_digits_only(decoding: SimpleNamespace, value: bytes) -> None:
    decoder = decoding.Decoder()
    decoder.feed(b"retry: 7\nretry:" + value + b"\n")
    assert decoder.retry == 7


def test_retry_with_leading_zeros(decoding: SimpleNamespace) -> None:
    decoder = decoding.Decoder()
    decoder.feed(b"retry: 0000000000000000000000000042\n")
    assert decoder.retry == 42


def test_huge_retry_is_capped_without_error(decoding: SimpleNamespace) -> None:
    decoder = decoding.Decoder()
    decoder.feed(b"retry: " + b"9" * 10_000 + b"\n")
    assert decoder.retry == 2**63 - 1
    decoder.feed(b"retry: 9223372036854775808\n")
    assert decoder.retry == 2**63 - 1
    decoder.feed(b"retry: 9223372036854775806\n")
    assert decoder.retry == 2**63 - 2


# ---------------------------------------------------------------- size limit


def test_event_larger_than_max_event_size_raises(decoding: SimpleNamespace) -> None:
    decoder = decoding.Decoder(max_event_size=12)
    decoder.feed(b"data: 1234\n")  # 5 bytes counted: value and its LF
    with pytest.raises(sse_fast.EventTooLarge, match=r"event data longer than .*\(12 bytes\)"):
        decoder.feed(b"data:1234567\n")  # a 12-byte line, but 13 bytes of data


def test_event_of_exactly_max_event_size_is_accepted(decoding: SimpleNamespace) -> None:
    assert decode(decoding, b"data: 1234\ndata: 5678\n\n", max_event_size=10) == [
        ("message", "1234\n5678", "")
    ]


def test_line_longer_than_max_event_size_raises_even_unterminated(
    decoding: SimpleNamespace,
) -> None:
    decoder = decoding.Decoder(max_event_size=10)
    decoder.feed(b": 345678")
    with pytest.raises(sse_fast.EventTooLarge, match="line longer than"):
        decoder.feed(b"901")
    with pytest.raises(sse_fast.EventTooLarge, match="line longer than"):
        decoding.Decoder(max_event_size=10).feed(b": 3456789012\n")


def test_event_too_large_is_a_value_error_with_the_limit(decoding: SimpleNamespace) -> None:
    with pytest.raises(ValueError, match="max_event_size") as info:
        decoding.Decoder(max_event_size=4).feed(b"data: abcd\n")
    assert isinstance(info.value, sse_fast.EventTooLarge)
    assert info.value.limit == 4


def test_max_event_size_none_means_no_limit(decoding: SimpleNamespace) -> None:
    data = "x" * 100_000
    assert decode(decoding, f"data: {data}\n\n".encode(), max_event_size=None) == [
        ("message", data, "")
    ]


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10"])
def test_max_event_size_must_be_a_positive_int(decoding: SimpleNamespace, bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="max_event_size"):
        decoding.Decoder(max_event_size=bad)


# ---------------------------------------------------------------- API


def test_decoded_events_are_server_sent_events_of_the_same_twin(decoding: SimpleNamespace) -> None:
    (event,) = decoding.Decoder().feed(b"id: 7\nevent: up\ndata: a\ndata: b\n\n")
    assert type(event) is decoding.ServerSentEvent
    assert event == decoding.ServerSentEvent("a\nb", event="up", id="7")
    assert hash(event) == hash(decoding.ServerSentEvent("a\nb", event="up", id="7"))
    assert (event.retry, event.comment) == (None, None)
    assert event.encode() == b"id: 7\nevent: up\ndata: a\ndata: b\n\n"
    assert event.encode("\r\n") == b"id: 7\r\nevent: up\r\ndata: a\r\ndata: b\r\n\r\n"


def test_decoded_non_ascii_event_encodes_as_utf8(decoding: SimpleNamespace) -> None:
    (event,) = decoding.Decoder().feed("data: h€llo \U0001f600\n\n".encode())
    assert event.encode() == "id: \nevent: message\ndata: h€llo \U0001f600\n\n".encode()


def test_feed_accepts_bytes_like_objects(decoding: SimpleNamespace) -> None:
    decoder = decoding.Decoder()
    assert len(decoder.feed(bytearray(b"data: a\n\n"))) == 1
    assert len(decoder.feed(memoryview(b"data: b\n\n"))) == 1


def test_feed_rejects_str(decoding: SimpleNamespace) -> None:
    with pytest.raises(TypeError, match="a bytes-like object is required, not 'str'"):
        decoding.Decoder().feed("data: a\n\n")


def test_state_is_read_only(decoding: SimpleNamespace) -> None:
    decoder = decoding.Decoder()
    # The messages are CPython's own, which differ between a property and a C field.
    with pytest.raises(AttributeError, match="'retry'"):
        decoder.retry = 5
    with pytest.raises(AttributeError, match="'last_event_id'"):
        decoder.last_event_id = "x"
    assert (decoder.retry, decoder.last_event_id) == (None, "")


def test_public_decoder_is_the_selected_twin() -> None:
    module = "sse_fast._decoder_c" if sse_fast.COMPILED else "sse_fast._decoder_py"
    assert sse_fast.Decoder.__module__ == module


def test_decoders_in_threads_do_not_interfere(decoding: SimpleNamespace) -> None:
    # Each thread decodes a stream of its own, so that any state shared between
    # decoders would show as another thread's events.
    def stream(thread: int) -> bytes:
        return b"".join(b"id: %d.%d\ndata: %d\n\n" % (thread, i, thread) for i in range(2000))

    results: dict[int, list[Event]] = {}

    def run(thread: int) -> None:
        data = stream(thread)
        decoder = decoding.Decoder()
        results[thread] = events_of(decoder, [data[i : i + 7] for i in range(0, len(data), 7)])

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [0, 1, 2, 3]
    for n, events in results.items():
        assert events == [("message", str(n), f"{n}.{i}") for i in range(2000)]


def test_decoder_shared_by_threads_never_mixes_events(decoding: SimpleNamespace) -> None:
    # One decoder fed whole events by four threads at once: each feed() returns its own
    # event or is refused (RuntimeError); none is lost, split or merged.
    decoder = decoding.Decoder()
    returned: list[str] = []
    refused: list[str] = []
    barrier = threading.Barrier(4)

    def run(thread: int) -> None:
        barrier.wait()
        for i in range(500):
            value = f"{thread}.{i}"
            try:
                events = decoder.feed(b"data: %s\n\n" % value.encode())
            except RuntimeError as exc:
                refused.append(str(exc))
                continue
            assert [event.data for event in events] == [value]
            returned.append(value)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(returned) + len(refused) == 2000
    assert len(set(returned)) == len(returned)
    assert all(message.startswith("Decoder is already in use") for message in refused)


def test_decoder_cannot_be_pickled(decoding: SimpleNamespace) -> None:
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(decoding.Decoder())
