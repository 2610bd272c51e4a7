"""The hub's merge of history and a live feed that drops, repeats and reorders events.

A MemoryBackend stores the history as usual, but its live deliveries are held back and
handed to the hub in an order Hypothesis picks (some twice, some never), then the feed
"reconnects" (``resync``). Whatever the order, a subscriber sees each seq once, in
order: all of them while the history holds them, else one Reset and then the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sse_fast.broadcast import Broker, Event, MemoryBackend, Reset
from sse_fast.broadcast._backend import BrokerUnavailable, Deliver, StoredEvent, parse_id
from sse_fast.broadcast._hub import Subscription

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


# ------------------------------------------------ the hub's rarer paths, one at a time

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Recorder:
    """A subscription read by a background task, so the test can act while it waits."""

    def __init__(self, subscription: Subscription) -> None:
        self.items: list[Event | Reset] = []
        self._subscription = subscription
        self._task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for item in self._subscription:
            self.items.append(item)

    async def until(self, count: int) -> list[Event | Reset]:
        with anyio.fail_after(5):
            while len(self.items) < count:
                await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)  # nothing more is due: an extra item would show here
        return self.items


def described(items: list[Event | Reset]) -> list[str]:
    return [
        f"reset:{item.reason}:{seq_of(item)}" if isinstance(item, Reset) else str(seq_of(item))
        for item in items
    ]


class ReadHook(MemoryBackend):
    """MemoryBackend whose ``read`` runs a test's hook (fail, shorten, interleave)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.hook: Callable[[list[StoredEvent]], list[StoredEvent]] | None = None

    async def start(self, deliver: Deliver, resync: Callable[[], None]) -> None:
        self.to_hub = deliver
        await super().start(deliver, resync)

    async def read(self, topic: str, epoch: str, after: int, limit: int) -> list[StoredEvent]:
        stored = await super().read(topic, epoch, after, limit)
        hook, self.hook = self.hook, None
        return stored if hook is None else hook(stored)


async def behind_a_burst(broker: Broker) -> Subscription:
    """Subscribed after event 2 of 10, with its replay 3..10 read, then 11..20 published."""
    ids = [await broker.publish("t", f"e{n}") for n in range(1, 11)]
    subscription = broker.subscribe("t", last_event_id=ids[1])
    await subscription.open()
    for n in range(11, 21):
        await broker.publish("t", f"e{n}")
    return subscription


async def test_a_burst_between_replay_and_ring_is_read_from_the_backend() -> None:
    # The ring holds 4, the backend 100: events 11..16 leave the ring before the
    # subscriber has replayed 3..10, and must come from the backend, not be skipped.
    async with Broker(MemoryBackend(history=100), history=4, on_lag="disconnect") as broker:
        subscription = await behind_a_burst(broker)
        recorder = Recorder(subscription)
        items = await recorder.until(18)
        assert described(items) == [str(seq) for seq in range(3, 21)]
        assert next(item.data for item in items if isinstance(item, Event)) == "e3"
        assert not subscription.lagged


async def test_a_burst_the_backend_no_longer_holds_gives_exactly_one_reset() -> None:
    async with Broker(MemoryBackend(history=8), history=4, on_lag="disconnect") as broker:
        subscription = await behind_a_burst(broker)
        recorder = Recorder(subscription)
        await recorder.until(9)
        await broker.publish("t", "e21")
        items = await recorder.until(10)
        expected = [str(seq) for seq in range(3, 11)] + ["reset:trimmed:20", "21"]
        assert described(items) == expected


async def test_a_ring_restart_during_the_burst_read_gives_only_the_restarts_reset() -> None:
    backend = ReadHook(history=100)
    async with Broker(backend, history=4, on_lag="disconnect") as broker:
        subscription = await behind_a_burst(broker)

        def other_epoch_arrives(stored: list[StoredEvent]) -> list[StoredEvent]:
            backend.to_hub("t", "0000beef", 1, None, b"fresh")
            return stored

        backend.hook = other_epoch_arrives  # the replay was read: this is the burst read
        recorder = Recorder(subscription)
        items = await recorder.until(10)
        assert described(items[8:]) == ["reset:epoch:0", "1"]
        assert items[-1].id == "0000beef.1"


@pytest.mark.parametrize(
    ("hand_over", "expected"),
    [
        # 3, 4, 5 come live, 1 and 2 never: the gap outgrows max_replay while buffered.
        ("live 3..5", ["reset:too_far:4", "5"]),
        # The feed reconnects 5 behind: more than max_replay to read from history.
        ("resync", ["reset:too_far:5"]),
    ],
)
async def test_a_gap_wider_than_max_replay_resets_instead_of_buffering_or_reading_it(
    hand_over: str, expected: list[str]
) -> None:
    backend = HeldBackFeed(history=100)
    broker = Broker(backend, history=100, max_replay=2)
    async with broker, broker.subscribe("t") as subscription:
        for n in range(1, 6):
            await broker.publish("t", f"e{n}")
        recorder = Recorder(subscription)
        await asyncio.sleep(0)
        if hand_over == "resync":
            backend.resync_hub()
        else:
            for delivery in backend.held[2:]:
                backend.to_hub(*delivery)
        assert described(await recorder.until(len(expected))) == expected


async def test_a_backend_restarted_meanwhile_resets_at_its_new_epoch() -> None:
    backend = HeldBackFeed(history=100)
    async with Broker(backend, history=100) as broker, broker.subscribe("t") as subscription:
        old = await broker.publish("t", "before")
        backend.to_hub(*backend.held[0])
        recorder = Recorder(subscription)
        await recorder.until(1)
        backend._topics.clear()  # lost its data, as a restarted server without storage
        await backend.watch("t")
        new = await broker.publish("t", "after")
        backend.resync_hub()
        items = await recorder.until(2)
        assert items[0].id == old
        assert isinstance(items[1], Reset)
        assert items[1].reason == "epoch"
        assert items[1].id == new  # the head: "after" was published before the reset


async def test_a_failed_fill_is_retried_and_a_late_event_closes_its_gap(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = ReadHook(history=100)
    async with Broker(backend, history=100) as broker, broker.subscribe("t") as subscription:
        recorder = Recorder(subscription)
        epoch = (await backend.head("t")).epoch

        def unavailable(stored: list[StoredEvent]) -> list[StoredEvent]:
            raise BrokerUnavailable("redis is down")

        backend.hook = unavailable
        with caplog.at_level(logging.WARNING, "sse_fast.broadcast"):
            backend.to_hub("t", epoch, 2, None, b"second")  # 1 is missing: a fill
            await asyncio.sleep(0.01)
        assert "cannot fill topic 't' from history: redis is down" in caplog.text
        assert recorder.items == []
        backend.to_hub("t", epoch, 1, None, b"first")  # the late one closes the gap
        items = await recorder.until(2)
        assert [item.data for item in items if isinstance(item, Event)] == ["first", "second"]


async def test_a_backend_that_returns_less_than_it_holds_resets_instead_of_a_silent_gap() -> None:
    backend = ReadHook(history=100)
    async with Broker(backend, history=100) as broker, broker.subscribe("t") as subscription:
        recorder = Recorder(subscription)
        epoch = (await backend.head("t")).epoch
        backend.hook = lambda stored: []  # asked for 1..3: no events and no Gap
        backend.to_hub("t", epoch, 4, None, b"fourth")
        items = await recorder.until(2)
        assert described(items) == ["reset:trimmed:3", "4"]


async def test_a_watch_that_fails_refuses_the_subscription_and_leaves_no_topic() -> None:
    class WatchFails(MemoryBackend):
        failures = 1

        async def watch(self, topic: str) -> None:
            if self.failures:
                self.failures -= 1
                raise BrokerUnavailable("cannot subscribe")
            await super().watch(topic)

    async with Broker(WatchFails()) as broker:
        with pytest.raises(BrokerUnavailable, match="cannot subscribe"):
            await broker.subscribe("t").open()
        await asyncio.sleep(0.01)
        async with broker.subscribe("t") as subscription:
            await broker.publish("t", "works")
            recorder = Recorder(subscription)
            assert [item.data for item in await recorder.until(1)] == ["works"]  # type: ignore[union-attr]


async def test_an_unwatch_that_fails_is_logged_and_the_topic_still_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class UnwatchFails(MemoryBackend):
        async def unwatch(self, topic: str) -> None:
            raise BrokerUnavailable("connection lost")

    async with Broker(UnwatchFails()) as broker:
        with caplog.at_level(logging.WARNING, "sse_fast.broadcast"):
            async with broker.subscribe("t"):
                pass
        assert "cannot stop watching topic 't': connection lost" in caplog.text
        async with broker.subscribe("t") as subscription:
            assert subscription.head is not None


async def test_a_replay_with_a_hole_resets_instead_of_skipping() -> None:
    backend = ReadHook(history=100)
    async with Broker(backend, history=2) as broker:
        ids = [await broker.publish("t", f"e{n}") for n in range(1, 6)]
        backend.hook = lambda stored: [item for item in stored if item.seq != 3]
        async with broker.subscribe("t", last_event_id=ids[0]) as subscription:
            assert subscription.replay == "reset"
            recorder = Recorder(subscription)
            assert described(await recorder.until(1)) == ["reset:trimmed:5"]


async def test_a_subscription_is_iterated_once_and_not_reopened() -> None:
    async with Broker() as broker:
        subscription = broker.subscribe("t")
        async with subscription:
            subscription.__aiter__()
            with pytest.raises(RuntimeError, match="iterated once"):
                subscription.__aiter__()
        with pytest.raises(RuntimeError, match="this Subscription is closed"):
            await subscription.open()
