"""StreamOptions.shared(): responses built alike share one options object."""

from __future__ import annotations

import pytest

from sse_fast.stream import StreamOptions


def test_equal_values_give_the_same_object_and_other_values_another() -> None:
    one = StreamOptions.shared(sep="\r\n", ping=15, send_timeout=120)
    assert StreamOptions.shared(sep="\r\n", ping=15, send_timeout=120) is one
    other = StreamOptions.shared(sep="\r\n", ping=15, send_timeout=60)
    assert other is not one
    assert (other.sep, other.ping, other.send_timeout) == ("\r\n", 15.0, 60.0)


def test_a_value_equal_to_a_cached_one_but_of_a_bad_type_is_still_refused() -> None:
    StreamOptions.shared(send_timeout=1)
    with pytest.raises(TypeError, match="send_timeout"):
        StreamOptions.shared(send_timeout=True)


def test_bad_values_raise_as_the_constructor_does() -> None:
    with pytest.raises(ValueError, match="send_timeout"):
        StreamOptions.shared(send_timeout=0)


def test_unhashable_values_get_options_of_their_own() -> None:
    limiter: list[object] = []  # any object may be a thread limiter
    first = StreamOptions.shared(thread_limiter=limiter)
    assert first.thread_limiter is limiter
    assert StreamOptions.shared(thread_limiter=limiter) is not first
