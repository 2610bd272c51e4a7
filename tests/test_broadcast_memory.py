"""MemoryBackend specifics: epochs per process and per recreated topic, expiry, LRU, workers."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

from sse_fast.broadcast import Broker, MemoryBackend, Reset

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def first_item(broker: Broker, topic: str, cursor: str) -> Any:
    with anyio.fail_after(5):
        async with broker.subscribe(topic, last_event_id=cursor) as sub:
            async for item in sub:
                return item
    return None


async def test_a_restarted_process_resets_old_cursors() -> None:
    async with Broker() as before:
        old = await before.publish("t", "x")
    async with Broker() as after:
        head = await after.publish("t", "y")
        assert head.split(".")[0] != old.split(".")[0]
        assert await first_item(after, "t", old) == Reset(head, "epoch")


async def test_an_idle_topic_expires_and_comes_back_in_a_new_epoch() -> None:
    backend = MemoryBackend(history_ttl=60, clock=(clock := FakeClock()))
    async with Broker(backend) as broker:
        old = await broker.publish("t", "x")
        clock.now += 59
        assert backend.topic_count == 1
        assert await broker.head("t") == old
        clock.now += 2
        head = await broker.head("t")
        assert head.split(".")[0] != old.split(".")[0]
        assert head.endswith(".0")
        assert await first_item(broker, "t", old) == Reset(head, "epoch")


async def test_a_watched_topic_does_not_expire() -> None:
    clock = FakeClock()
    async with Broker(MemoryBackend(history_ttl=60, clock=clock)) as broker:
        old = await broker.publish("t", "x")
        async with broker.subscribe("t"):
            clock.now += 3600
            assert await broker.head("t") == old


async def test_the_least_recently_used_idle_topic_is_evicted_first() -> None:
    backend = MemoryBackend(max_topics=2)
    async with Broker(backend) as broker:
        a = await broker.publish("a", "x")
        b = await broker.publish("b", "x")
        await broker.publish("a", "y")  # "a" is now the most recent
        await broker.publish("c", "x")
        assert backend.topic_count == 2
        assert (await broker.head("a")).split(".")[0] == a.split(".")[0]
        assert (await broker.head("b")).split(".")[0] != b.split(".")[0]


@pytest.mark.parametrize(("workers", "warned"), [("4", True), ("1", False), ("", False)])
async def test_several_workers_are_warned_about(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, workers: str, warned: bool
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", workers)
    with caplog.at_level(logging.WARNING, "sse_fast.broadcast"):
        async with Broker():
            pass
    assert (f"WEB_CONCURRENCY={workers}" in caplog.text) is warned
    assert ("use RedisBackend" in caplog.text) is warned


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"history": 0}, "history must be an int >= 1"),
        ({"max_topics": 0}, "max_topics must be an int >= 1"),
        ({"history_ttl": 0}, "history_ttl must be a number of seconds > 0"),
        ({"history_ttl": "1"}, "history_ttl must be a number of seconds > 0"),
    ],
)
def test_bad_memory_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MemoryBackend(**options)
