"""RedisBackend against a real redis-server: storage, ids, gaps, and every way Redis fails.

``Recorder`` plays the hub's part that the backend relies on: it keeps each topic in
order, fills a hole with ``read()`` and reads again on ``resync()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import pytest
import redis
from redis_server import RedisServer
from servers import TESTS, free_port

from sse_fast.broadcast._backend import BrokerUnavailable, Gap, Position, StoredEvent
from sse_fast.broadcast.redis import RedisBackend, parse_message, reconnect_delay

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Recorder:
    """The events of one topic as a hub would keep them: in order, once, holes filled."""

    def __init__(self, backend: RedisBackend, topic: str) -> None:
        self.backend = backend
        self.topic = topic
        self.epoch = ""
        self.seqs: list[int] = []
        self.data: list[bytes] = []
        self.live = 0
        self.resyncs = 0
        self._fill = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def last(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    def deliver(self, topic: str, epoch: str, seq: int, event: str | None, data: bytes) -> None:
        assert topic == self.topic
        self.live += 1
        if epoch != self.epoch:
            self.epoch, self.seqs, self.data = epoch, [], []
        if seq == self.last + 1 and not self._fill.locked():
            self.seqs.append(seq)
            self.data.append(data)
        elif seq > self.last:
            self._spawn()

    def resync(self) -> None:
        self.resyncs += 1
        self._spawn()

    def _spawn(self) -> None:
        task = asyncio.get_running_loop().create_task(self._catch_up())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _catch_up(self) -> None:
        async with self._fill:
            while True:
                try:
                    events = await self.backend.read(self.topic, self.epoch, self.last, 1000)
                except Gap:
                    return  # a new epoch: its first live event starts the record again
                for event in events:
                    self.seqs.append(event.seq)
                    self.data.append(event.data)
                if len(events) < 1000:
                    return

    async def wait_for(self, seq: int, timeout: float = 10) -> None:
        with anyio.fail_after(timeout):
            while self.last < seq or self._tasks:
                await asyncio.sleep(0.01)


async def started(backend: RedisBackend, recorder: Recorder | None = None) -> RedisBackend:
    if recorder is None:
        await backend.start(lambda *event: None, lambda: None)
    else:
        await backend.start(recorder.deliver, recorder.resync)
    return backend


@pytest.fixture
async def backend(redis_session: RedisServer, redis_prefix: str) -> AsyncIterator[RedisBackend]:
    backend = RedisBackend.from_url(redis_session.url, prefix=redis_prefix, unwatch_linger=0.2)
    await started(backend)
    yield backend
    await backend.close()


@pytest.fixture
def admin(redis_session: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_session.url)
    yield client
    client.close()


@contextlib.asynccontextmanager
async def publisher_and_receiver(
    url: str, prefix: str, **receiver_options: Any
) -> AsyncIterator[tuple[RedisBackend, RedisBackend, Recorder]]:
    """Two backends of one Redis: one publishes, one records topic ``t`` as a hub would."""
    history = receiver_options.get("history", 1000)
    publisher = await started(RedisBackend.from_url(url, prefix=prefix, history=history))
    receiver = RedisBackend.from_url(url, prefix=prefix, **receiver_options)
    receiver.reconnect_base = 0.02
    recorder = Recorder(receiver, "t")
    await started(receiver, recorder)
    try:
        yield publisher, receiver, recorder
    finally:
        await receiver.close()
        await publisher.close()


def wait_until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def clients_named(admin: redis.Redis, name: str) -> list[dict[str, Any]]:
    return [client for client in admin.client_list() if client.get("name") == name]


# Publish, head and read ---------------------------------------------------------------


async def test_publish_counts_seqs_densely_under_the_topics_epoch(backend: RedisBackend) -> None:
    with anyio.fail_after(10):
        head = await backend.head("room:1")
        assert head.seq == 0
        positions = [await backend.publish("room:1", None, b"x%d" % n) for n in range(5)]
        assert positions == [Position(head.epoch, seq) for seq in range(1, 6)]
        assert await backend.head("room:1") == Position(head.epoch, 5)


async def test_each_topic_has_its_own_epoch_and_count(backend: RedisBackend) -> None:
    with anyio.fail_after(10):
        first = await backend.publish("a", None, b"1")
        second = await backend.publish("b", None, b"1")
        assert first.seq == second.seq == 1
        assert first.epoch != second.epoch


async def test_read_returns_the_events_after_the_cursor_oldest_first(
    backend: RedisBackend,
) -> None:
    with anyio.fail_after(10):
        epoch = (await backend.publish("t", "msg", b"one")).epoch
        await backend.publish("t", None, b"two\nlines")
        await backend.publish("t", "", b"")
        assert await backend.read("t", epoch, 0, 10) == [
            StoredEvent(1, "msg", b"one"),
            StoredEvent(2, None, b"two\nlines"),
            StoredEvent(3, None, b""),
        ]
        assert await backend.read("t", epoch, 1, 1) == [StoredEvent(2, None, b"two\nlines")]


async def test_read_of_an_up_to_date_cursor_is_empty(backend: RedisBackend) -> None:
    with anyio.fail_after(10):
        head = await backend.head("t")
        assert await backend.read("t", head.epoch, 0, 10) == []
        await backend.publish("t", None, b"x")
        assert await backend.read("t", head.epoch, 1, 10) == []


async def test_read_of_another_epoch_is_an_epoch_gap(backend: RedisBackend) -> None:
    with anyio.fail_after(10):
        await backend.publish("t", None, b"x")
        with pytest.raises(Gap) as caught:
            await backend.read("t", "0badbeef", 0, 10)
        assert caught.value.reason == "epoch"


async def test_read_of_a_topic_redis_lost_is_an_epoch_gap(
    backend: RedisBackend, admin: redis.Redis, redis_prefix: str
) -> None:
    with anyio.fail_after(10):
        epoch = (await backend.publish("t", None, b"x")).epoch
        admin.delete(f"{redis_prefix}:{{t}}:m", f"{redis_prefix}:{{t}}:x")
        with pytest.raises(Gap) as caught:
            await backend.read("t", epoch, 0, 10)
        assert caught.value.reason == "epoch"
        assert (await backend.head("t")).epoch != epoch


async def test_read_from_before_the_trimmed_history_is_a_trimmed_gap(
    redis_session: RedisServer, redis_prefix: str
) -> None:
    backend = await started(
        RedisBackend.from_url(redis_session.url, prefix=redis_prefix, history=10)
    )
    try:
        with anyio.fail_after(10):
            for n in range(300):
                epoch = (await backend.publish("t", None, b"%d" % n)).epoch
            with pytest.raises(Gap) as caught:
                await backend.read("t", epoch, 1, 1000)
            assert caught.value.reason == "trimmed"
            assert [event.seq for event in await backend.read("t", epoch, 290, 1000)] == list(
                range(291, 301)
            )
    finally:
        await backend.close()


async def test_read_of_an_expired_stream_behind_the_count_is_a_trimmed_gap(
    backend: RedisBackend, admin: redis.Redis, redis_prefix: str
) -> None:
    with anyio.fail_after(10):
        epoch = (await backend.publish("t", None, b"x")).epoch
        admin.delete(f"{redis_prefix}:{{t}}:x")  # what history_ttl does to an idle topic
        with pytest.raises(Gap) as caught:
            await backend.read("t", epoch, 0, 10)
        assert caught.value.reason == "trimmed"


async def test_keys_share_the_topic_hash_tag_and_expire(
    backend: RedisBackend, admin: redis.Redis, redis_prefix: str
) -> None:
    with anyio.fail_after(10):
        await backend.publish("room:1", None, b"x")
        keys = sorted(admin.keys(f"{redis_prefix}:*"))
        assert keys == [f"{redis_prefix}:{{room:1}}:{kind}".encode() for kind in "mx"]
        assert 0 < admin.ttl(keys[1]) <= backend.history_ttl
        assert backend.history_ttl < admin.ttl(keys[0]) <= backend.meta_ttl


def test_publish_sync_shares_the_count_without_a_running_broker(
    redis_session: RedisServer, redis_prefix: str
) -> None:
    backend = RedisBackend.from_url(redis_session.url, prefix=redis_prefix)
    results: list[Position] = []
    threads = [
        threading.Thread(target=lambda: results.append(backend.publish_sync("t", "e", b"d")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(position.seq for position in results) == [1, 2, 3, 4]
    assert len({position.epoch for position in results}) == 1

    async def check() -> None:
        await started(backend)
        try:
            assert await backend.publish("t", None, b"async") == Position(results[0].epoch, 5)
            assert (await backend.read("t", results[0].epoch, 0, 10))[0] == StoredEvent(
                1, "e", b"d"
            )
        finally:
            await backend.close()

    asyncio.run(asyncio.wait_for(check(), 10))


# Live delivery ---------------------------------------------------------------------------


async def test_an_event_published_by_one_backend_reaches_another(
    redis_session: RedisServer, redis_prefix: str, backend: RedisBackend
) -> None:
    receiver = RedisBackend.from_url(redis_session.url, prefix=redis_prefix)
    recorder = Recorder(receiver, "t")
    await started(receiver, recorder)
    try:
        with anyio.fail_after(10):
            await receiver.watch("t")
            for n in range(1, 51):
                await backend.publish("t", "msg", b"event %d" % n)
            await recorder.wait_for(50)
            assert recorder.seqs == list(range(1, 51))
            assert recorder.data[-1] == b"event 50"
            assert recorder.live == 50
    finally:
        await receiver.close()


async def test_watch_returns_once_redis_confirmed_the_subscription(
    backend: RedisBackend, admin: redis.Redis, redis_prefix: str
) -> None:
    with anyio.fail_after(10):
        await backend.watch("t")
        assert admin.pubsub_numsub(f"{redis_prefix}:{{t}}:c") == [
            (f"{redis_prefix}:{{t}}:c".encode(), 1)
        ]


async def test_malformed_channel_messages_are_dropped(
    redis_session: RedisServer, redis_prefix: str, admin: redis.Redis
) -> None:
    receiver = RedisBackend.from_url(redis_session.url, prefix=redis_prefix)
    recorder = Recorder(receiver, "t")
    await started(receiver, recorder)
    try:
        with anyio.fail_after(10):
            await receiver.watch("t")
            channel = f"{redis_prefix}:{{t}}:c"
            for forged in [b"no newline", b"0123abcd x ev\ndata", b"XYZ 1 ev\nd", b"0123abcd 1\nd"]:
                admin.publish(channel, forged)
            admin.publish(channel, b"0123abcd 1 ev\ngood")
            await recorder.wait_for(1)
            assert recorder.data == [b"good"]
            assert receiver.dropped_messages == 4
    finally:
        await receiver.close()


def test_parse_message_takes_the_first_line_as_the_header() -> None:
    assert parse_message(b"0123abcd 12 msg name\nda\nta") == ("0123abcd", 12, "msg name", b"da\nta")
    assert parse_message(b"0123abcd 1 \n") == ("0123abcd", 1, None, b"")


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"0123abcd 1 ev",  # no data line
        b"0123ABCD 1 ev\nd",  # epochs are lowercase
        b"0123abc 1 ev\nd",
        b"0123abcd 0 ev\nd",  # seqs start at 1
        b"0123abcd 01 ev\nd",
        b"0123abcd 12345678901234567890 ev\nd",
        b"0123abcd 1 e\rv\nd",
        b"0123abcd 1 \xff\nd",
    ],
)
def test_parse_message_rejects_anything_a_publish_does_not_write(payload: bytes) -> None:
    assert parse_message(payload) is None


def test_reconnect_delay_doubles_up_to_the_cap_with_jitter() -> None:
    def delays(rng: float) -> list[float]:
        return [reconnect_delay(n, base=0.1, cap=10, rng=lambda: rng) for n in range(10)]

    assert delays(1.0)[:4] == pytest.approx([0.1, 0.2, 0.4, 0.8])
    assert delays(1.0)[-1] == 10
    assert delays(0.0)[:2] == pytest.approx([0.05, 0.1])
    assert reconnect_delay(10_000, base=0.1, cap=10, rng=lambda: 1.0) == 10


# Unsubscribing, connections, tasks -----------------------------------------------------


async def test_unwatch_unsubscribes_after_the_linger(
    backend: RedisBackend, admin: redis.Redis, redis_prefix: str
) -> None:
    channel = f"{redis_prefix}:{{t}}:c"

    def subscribers() -> int:
        return int(admin.pubsub_numsub(channel)[0][1])

    with anyio.fail_after(10):
        await backend.watch("t")
        await backend.unwatch("t")
        await backend.watch("t")  # back within the linger: no UNSUBSCRIBE at all
        await asyncio.sleep(0.4)
        assert subscribers() == 1
        await backend.unwatch("t")
        assert subscribers() == 1
        while subscribers():
            await asyncio.sleep(0.02)


async def test_a_process_holds_two_connections_whatever_the_number_of_topics(
    redis_session: RedisServer, redis_prefix: str, admin: redis.Redis
) -> None:
    backend = RedisBackend.from_url(
        redis_session.url, prefix=redis_prefix, client_name=redis_prefix
    )
    await started(backend)
    try:
        with anyio.fail_after(20):
            topics = [f"topic-{n}" for n in range(300)]
            await asyncio.gather(*(backend.watch(topic) for topic in topics))
            await asyncio.gather(*(backend.publish(topic, None, b"x") for topic in topics))
            await asyncio.gather(*(backend.head(topic) for topic in topics))
            assert len(clients_named(admin, redis_prefix)) == 2
            assert sum(count for _, count in admin.pubsub_numsub(
                *[f"{redis_prefix}:{{{topic}}}:c" for topic in topics]
            )) == 300  # fmt: skip
    finally:
        await backend.close()
    wait_until(lambda: not clients_named(admin, redis_prefix))


async def test_close_leaves_no_task_and_no_connection(
    redis_session: RedisServer, redis_prefix: str, admin: redis.Redis
) -> None:
    with anyio.fail_after(10):
        before = asyncio.all_tasks()
        backend = RedisBackend.from_url(
            redis_session.url, prefix=redis_prefix, client_name=redis_prefix, unwatch_linger=5
        )
        await started(backend)
        await backend.watch("t")
        await backend.publish("t", None, b"x")
        await backend.unwatch("t")  # a linger timer still pending
        await backend.close()
        await asyncio.sleep(0)
        assert asyncio.all_tasks() == before
        wait_until(lambda: not clients_named(admin, redis_prefix))


# Redis failing -------------------------------------------------------------------------


async def test_start_raises_broker_unavailable_when_redis_is_unreachable() -> None:
    backend = RedisBackend.from_url(f"redis://127.0.0.1:{free_port()}/0")
    with anyio.fail_after(10), pytest.raises(BrokerUnavailable, match="cannot connect"):
        await started(backend)
    await backend.close()


async def test_publish_raises_broker_unavailable_while_redis_is_down_and_works_after(
    fresh_redis: RedisServer, redis_prefix: str
) -> None:
    backend = await started(RedisBackend.from_url(fresh_redis.url, prefix=redis_prefix))
    try:
        with anyio.fail_after(20):
            await backend.publish("t", None, b"before")
            fresh_redis.kill()
            with pytest.raises(BrokerUnavailable, match="unavailable"):
                await backend.publish("t", None, b"lost")
            with pytest.raises(BrokerUnavailable):
                await asyncio.to_thread(backend.publish_sync, "t", None, b"lost")
            fresh_redis.start()
            assert (await backend.publish("t", None, b"after")).seq == 1
    finally:
        await backend.close()


async def test_a_restarted_redis_gives_a_new_epoch_and_delivery_resumes(
    fresh_redis: RedisServer, redis_prefix: str
) -> None:
    async with publisher_and_receiver(fresh_redis.url, redis_prefix) as (
        publisher, receiver, recorder,
    ):  # fmt: skip
        with anyio.fail_after(20):
            await receiver.watch("t")
            old = await publisher.publish("t", None, b"old")
            await recorder.wait_for(1)
            fresh_redis.restart()
            with pytest.raises(Gap) as caught:
                await publisher.read("t", old.epoch, 0, 10)
            assert caught.value.reason == "epoch"
            while recorder.resyncs == 0:
                await asyncio.sleep(0.02)
            new = await publisher.publish("t", None, b"new")
            assert new.epoch != old.epoch
            assert new.seq == 1
            while recorder.epoch != new.epoch:
                await asyncio.sleep(0.02)
            await recorder.wait_for(1)
            assert recorder.data == [b"new"]
            assert receiver.reconnects == 1


async def test_a_killed_subscribed_connection_twice_loses_nothing(
    redis_session: RedisServer, redis_prefix: str, backend: RedisBackend, admin: redis.Redis
) -> None:
    receiver = RedisBackend.from_url(
        redis_session.url, prefix=redis_prefix, client_name=redis_prefix
    )
    receiver.reconnect_base = 0.02
    recorder = Recorder(receiver, "t")
    await started(receiver, recorder)
    try:
        with anyio.fail_after(30):
            await receiver.watch("t")
            for n in range(1, 301):
                await backend.publish("t", None, b"%d" % n)
                if n in (100, 200):
                    killed = admin.client_kill_filter(_type="pubsub")
                    assert killed >= 1
                if n % 10 == 0:
                    await asyncio.sleep(0.005)
            await recorder.wait_for(300)
            assert recorder.seqs == list(range(1, 301))
            assert recorder.data == [b"%d" % n for n in range(1, 301)]
            assert receiver.reconnects == 2
            assert recorder.resyncs == 2
    finally:
        await receiver.close()


async def test_redis_dropping_a_stalled_subscriber_is_recovered_from_the_stream(
    fresh_redis: RedisServer, redis_prefix: str
) -> None:
    count = 8000
    with redis.Redis.from_url(fresh_redis.url) as admin:
        admin.config_set("client-output-buffer-limit", "pubsub 1mb 256kb 5")
    async with publisher_and_receiver(fresh_redis.url, redis_prefix, history=count) as (
        publisher, receiver, recorder,
    ):  # fmt: skip
        with anyio.fail_after(60):
            await receiver.watch("t")
            payload = b"x" * 1024

            def publish_all() -> None:
                for _ in range(count):
                    publisher.publish_sync("t", None, payload)

            thread = threading.Thread(target=publish_all)
            thread.start()
            thread.join(30)  # the event loop, so the reader, is blocked meanwhile
            assert not thread.is_alive()
            await recorder.wait_for(count, timeout=30)
            assert recorder.seqs == list(range(1, count + 1))
            assert receiver.reconnects >= 1  # Redis cut the subscriber off: nothing else does


async def test_a_subscribed_connection_that_stops_answering_is_replaced(
    fresh_redis: RedisServer, redis_prefix: str
) -> None:
    async with publisher_and_receiver(fresh_redis.url, redis_prefix, ping_interval=0.1) as (
        publisher, receiver, recorder,
    ):  # fmt: skip
        with anyio.fail_after(20):
            await receiver.watch("t")
            # One event first, so the recorder knows the epoch: an event published while
            # the new connection's SUBSCRIBE is not yet confirmed is then read back on
            # resync(), as the hub does.
            await publisher.publish("t", None, b"before")
            await recorder.wait_for(1)
            with redis.Redis.from_url(fresh_redis.url) as admin:
                admin.client_pause(800)  # Redis holds every command, the PING too, unanswered
            while receiver.reconnects == 0:
                await asyncio.sleep(0.02)
            await publisher.publish("t", None, b"after")
            await recorder.wait_for(2)
            assert recorder.data == [b"before", b"after"]


async def test_watch_raises_broker_unavailable_when_redis_does_not_answer(
    fresh_redis: RedisServer, redis_prefix: str
) -> None:
    backend = RedisBackend.from_url(fresh_redis.url, prefix=redis_prefix, command_timeout=0.3)
    await started(backend)
    try:
        with anyio.fail_after(10):
            fresh_redis.kill()
            with pytest.raises(BrokerUnavailable, match="SUBSCRIBE"):
                await backend.watch("t")
    finally:
        await backend.close()


# Options -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"url": "http://127.0.0.1:6379"}, ValueError, "url must start with redis://"),
        ({"prefix": "a{b}"}, ValueError, "prefix must be"),
        ({"history": 0}, ValueError, "history must be at least 1: 0"),
        ({"history": 1.5}, TypeError, "history must be int"),
        ({"history_ttl": 600, "meta_ttl": 60}, ValueError, "meta_ttl must be at least"),
        ({"unwatch_linger": -1}, ValueError, "unwatch_linger must be"),
        ({"ping_interval": 0}, ValueError, "ping_interval must be more than 0"),
    ],
)
def test_bad_options_are_refused_by_name(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    url = options.pop("url", "redis://127.0.0.1:6379/0")
    with pytest.raises(error, match=message):
        RedisBackend.from_url(url, **options)


def test_the_password_never_shows(redis_prefix: str) -> None:
    backend = RedisBackend.from_url("redis://user:secret@127.0.0.1:1/0", prefix=redis_prefix)
    assert "secret" not in repr(backend)
    with pytest.raises(BrokerUnavailable) as caught:
        backend.publish_sync("t", None, b"x")
    assert "secret" not in str(caught.value)


async def test_bad_arguments_are_refused_before_redis_is_asked(backend: RedisBackend) -> None:
    with pytest.raises(ValueError, match="topic must be"):
        await backend.publish("a{b}", None, b"x")
    with pytest.raises(ValueError, match="event must not contain"):
        await backend.publish("t", "a\nb", b"x")
    with pytest.raises(TypeError, match="data must be bytes"):
        await backend.publish("t", None, "text")  # type: ignore[arg-type]


async def test_an_acl_user_limited_to_the_prefix_is_enough(
    redis_session: RedisServer, redis_prefix: str, admin: redis.Redis
) -> None:
    """The ACL the README recommends, with the README's prefix swapped for this test's."""
    rules = README_ACL.replace("sse:", f"{redis_prefix}:").split()
    admin.acl_setuser(redis_prefix, reset=True)
    admin.execute_command("ACL", "SETUSER", redis_prefix, *rules)  # type: ignore[no-untyped-call]
    try:
        url = redis_session.url.replace("redis://", f"redis://{redis_prefix}:change-me@")
        publisher = await started(RedisBackend.from_url(url, prefix=redis_prefix))
        receiver = RedisBackend.from_url(url, prefix=redis_prefix)
        recorder = Recorder(receiver, "t")
        await started(receiver, recorder)
        try:
            with anyio.fail_after(10):
                await receiver.watch("t")
                await publisher.publish("t", "e", b"x")
                await recorder.wait_for(1)
                assert await publisher.read("t", recorder.epoch, 0, 10) == [
                    StoredEvent(1, "e", b"x")
                ]
                await receiver.unwatch("t")
                outsider = await started(RedisBackend.from_url(url, prefix="other"))
                try:
                    with pytest.raises(redis.exceptions.NoPermissionError):
                        await outsider.publish("t", None, b"x")
                finally:
                    await outsider.close()
        finally:
            await publisher.close()
            await receiver.close()
    finally:
        admin.acl_deluser(redis_prefix)


README_ACL = (
    "on >change-me resetchannels ~sse:* &sse:* +evalsha +script|load +hget +hset +hincrby "
    "+hmget +xadd +xrange +expire +del +publish +subscribe +unsubscribe +ping +select"
)


def test_the_readme_recommends_the_tested_acl() -> None:
    readme = TESTS.parent / "README.md"
    if not readme.exists():
        pytest.skip("the README is not beside the tests (an installed wheel's test run)")
    assert f"ACL SETUSER sse_app {README_ACL}\n" in readme.read_text()
