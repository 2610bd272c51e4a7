"""Properties: the twins agree on every input, and a spec parser reads back what was sent."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import Parsed, reference_parse
from twins import TWINS, load_twin

pure = load_twin("py")
# In a pure wheel (SSE_FAST_EXPECT_PURE) the tests marked `compiled` are deselected,
# so nothing reads `compiled` there.
compiled = load_twin("c") if "c" in TWINS else pure

SPECIALS = [
    "\r", "\n", "\r\n", "\x00", "\u2028", "\u2029", "\x85", "\x0b", "\ufeff",
    "é", "€", "😀", "ÿ", ":", " ", "data: ", "\n\n",
    "\ud800", "\udfff", "\ud83d", "\ude00",
]  # fmt: skip
SURROGATES = re.compile("[\ud800-\udfff]")

any_char = st.characters(exclude_categories=())
texts = st.lists(
    st.one_of(st.sampled_from(SPECIALS), st.text(any_char, max_size=6)), max_size=10
).map("".join)
binaries = st.one_of(
    st.binary(max_size=40),
    texts.map(lambda s: s.encode("utf-8", "surrogatepass")),
)
wrong_types = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.booleans(),
    st.timedeltas(),
    st.just(["x"]),
    st.just(bytearray(b"x")),
)


def field_values(wrong_types_too: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for an event: plausible values, or anything at all."""
    extra = [wrong_types] if wrong_types_too else []
    return st.fixed_dictionaries(
        {},
        optional={
            "data": st.one_of(st.none(), texts, binaries, *extra),
            "event": st.one_of(st.none(), texts, *extra),
            "id": st.one_of(st.none(), texts, *extra),
            "retry": st.one_of(st.none(), st.integers(-10, 2**64), st.timedeltas(), *extra),
            "comment": st.one_of(st.none(), texts, *extra),
        },
    )


plausible = field_values(wrong_types_too=False)
anything = field_values(wrong_types_too=True)
separators = st.sampled_from(["\n", "\r\n", "\r"])
any_separator = st.one_of(separators, texts, wrong_types)

Outcome = tuple[Any, ...]


def outcome(call: Callable[[], object]) -> Outcome:
    try:
        return ("returned", call())
    except Exception as exc:
        return ("raised", type(exc), str(exc))


@pytest.mark.compiled
@given(plausible, separators)
def test_twins_give_the_same_bytes_or_the_same_error(kwargs: dict[str, Any], sep: str) -> None:
    assert outcome(lambda: compiled.encode(**kwargs, sep=sep)) == outcome(
        lambda: pure.encode(**kwargs, sep=sep)
    )


@pytest.mark.compiled
@given(anything, any_separator)
def test_twins_raise_the_same_error_for_wrong_types(kwargs: dict[str, Any], sep: Any) -> None:
    assert outcome(lambda: compiled.encode(**kwargs, sep=sep)) == outcome(
        lambda: pure.encode(**kwargs, sep=sep)
    )


@pytest.mark.compiled
@given(st.one_of(plausible, anything), any_separator)
def test_twins_build_the_same_events(kwargs: dict[str, Any], sep: Any) -> None:
    made_c = outcome(lambda: compiled.ServerSentEvent(**kwargs))
    made_p = outcome(lambda: pure.ServerSentEvent(**kwargs))
    if "raised" in (made_c[0], made_p[0]):
        assert made_c == made_p
        return
    c_event, p_event = made_c[1], made_p[1]
    assert c_event._fields() == p_event._fields()
    assert repr(c_event) == repr(p_event)
    assert outcome(lambda: c_event.encode(sep)) == outcome(lambda: p_event.encode(sep))


@pytest.mark.compiled
@given(st.lists(st.one_of(texts, plausible, wrong_types), max_size=8), any_separator)
def test_twins_agree_on_batches(items: list[Any], sep: Any) -> None:
    def batch(twin: ModuleType) -> Outcome:
        def build() -> bytes:
            events = [twin.ServerSentEvent(**i) if isinstance(i, dict) else i for i in items]
            return bytes(twin.encode_many(events, sep))

        return outcome(build)

    assert batch(compiled) == batch(pure)


# Valid events only, for the round trip.
valid_texts = texts.map(lambda s: SURROGATES.sub("?", s))
single_line = valid_texts.map(lambda s: s.replace("\r", "").replace("\n", ""))
valid_events: st.SearchStrategy[dict[str, Any]] = st.builds(
    dict,
    data=st.one_of(st.none(), valid_texts, valid_texts.map(str.encode)),
    event=st.one_of(st.none(), single_line),
    id=st.one_of(st.none(), single_line.map(lambda s: s.replace("\x00", ""))),
    retry=st.one_of(st.none(), st.integers(0, 2**63 - 1), st.timedeltas(min_value=timedelta(0))),
    comment=st.one_of(st.none(), valid_texts),
)


def as_read(data: str | bytes) -> str:
    """What a client reads back: UTF-8 text with every line end as LF."""
    text = data.decode() if isinstance(data, bytes) else data
    return text.replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize("twin", TWINS)
@given(st.lists(valid_events, max_size=6), st.sampled_from(["\n", "\r\n", "\r"]))
def test_a_spec_parser_reads_back_every_event(
    twin: str, events: list[dict[str, Any]], sep: str
) -> None:
    framing = compiled if twin == "c" else pure
    objects = [framing.ServerSentEvent(**e) for e in events]
    expected = Parsed()
    for event in objects:
        if event.id is not None:
            expected.last_event_id = event.id
        if event.retry is not None:
            expected.retry = event.retry
        if event.data is not None:
            kind = event.event or "message"
            expected.events.append((kind, as_read(event.data), expected.last_event_id))
    assert reference_parse(framing.encode_many(objects, sep)) == expected
