"""The hub's merge of history and a live feed that drops, repeats and reorders events.

A MemoryBackend stores the history as usual, but its live deliveries are held back and
handed to the hub in an order Hypothesis picks (some twice, some never), then the feed
"reconnects" (``resync``). Whatever the order, a subscriber sees each seq once, in
order: all of them while the history holds them, else one Reset and then the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from sse_fast.broadcast import Broker, Event, MemoryBackend, Reset
from sse_fast.broadcast._backend import Deliver, parse_id

Delivery = tuple[str, str, int, str | None, bytes]


class HeldBackFeed(MemoryBackend):
    """History as in MemoryBackend; live deliveries kept for the test to hand over."""

    async def start(self, deliver: Deliver, resync: Callable[[], None]) -> None:
        self.to_hub = deliver
        self.resync_hub = resync
        self.held: list[Delivery] = []
        await super().start(lambda *delivery: self.held.append(delivery), resync)


def seq_of(item: Event | Reset) -> int:
    parsed = parse_id(item.id)
    assert parsed is not None
    return parsed[1]


async def scenario(
    count: int, history: int, order: list[int], pauses: list[bool], cursor_at: int | None
) -> list[Event | Reset]:
    backend = HeldBackFeed(history=history)
    # A reader that falls behind a small ring is moved to the head rather than let go.
    async with Broker(backend, history=history, on_lag="reset") as broker:
        cursor = None
        if cursor_at is not None:
            cursor = [await broker.publish("t", "old") for _ in range(cursor_at)][-1]
        subscription = broker.subscribe("t", last_event_id=cursor)
        await subscription.open()
        head = seq_of(Reset(subscription.head or "", "epoch"))
        for n in range(count):
            await broker.publish("t", f"e{n}")
        received: list[Event | Reset] = []

        async def read() -> None:
            async for item in subscription:
                received.append(item)
                if seq_of(item) == head + count:
                    return

        reader = asyncio.ensure_future(read())
        for index, pause in zip(order, pauses, strict=False):
            backend.to_hub(*backend.held[index % len(backend.held)])
            if pause:
                await asyncio.sleep(0)
        backend.resync_hub()
        await asyncio.wait_for(reader, 2)
        return received


def check_in_order(received: list[Event | Reset], first: int) -> int:
    """Each Event follows the previous item's seq by one; return the number of Resets."""
    resets = 0
    previous = first - 1
    for item in received:
        if isinstance(item, Reset):
            resets += 1
            assert seq_of(item) >= previous
        else:
            assert seq_of(item) == previous + 1, received
        previous = seq_of(item)
    return resets


feeds = st.integers(1, 30).flatmap(
    lambda count: st.tuples(
        st.just(count),
        st.lists(st.integers(0, count - 1), max_size=3 * count),
        st.lists(st.booleans(), min_size=3 * count, max_size=3 * count),
    )
)


@given(feeds, st.none() | st.integers(1, 20))
def test_any_feed_within_history_gives_every_event_once_in_order(
    feed: tuple[int, list[int], list[bool]], cursor_at: int | None
) -> None:
    count, order, pauses = feed
    received = asyncio.run(scenario(count, 100, order, pauses, cursor_at))
    first = 1 if cursor_at is None else cursor_at + 1
    assert check_in_order(received, first) == 0
    assert seq_of(received[-1]) == (cursor_at or 0) + count


@given(feeds)
def test_any_feed_beyond_history_resets_instead_of_skipping_or_repeating(
    feed: tuple[int, list[int], list[bool]],
) -> None:
    count, order, pauses = feed
    received = asyncio.run(scenario(count, 4, order, pauses, None))
    check_in_order(received, 1)
    assert seq_of(received[-1]) == count
