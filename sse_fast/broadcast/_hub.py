"""The per-process hub: one bounded ring per watched topic, one cursor per subscriber.

A backend delivers each live event once per process; the hub appends it to the topic's
ring (framed lazily, once). A subscriber streamed by the engine and waiting at the head
gets the event written through its stream by the delivering task (the push path, no
task wake-up); the others are woken and read the ring at their own pace. Memory is
bounded by topics x ring size, never by subscribers: a subscriber is an integer cursor,
and one that falls more than the ring behind has lagged (disconnected, or reset to the
head).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from typing import TYPE_CHECKING, Any, Literal

from sse_fast._engine.push import write_now

from ._backend import (
    Backend,
    BrokerUnavailable,
    Gap,
    ResetReason,
    StoredEvent,
    TooManySubscribers,
    check_topic,
    format_id,
    parse_id,
)
from ._items import Event, Reset

if TYPE_CHECKING:
    from sse_fast._engine.stream import EventStream

__all__ = ["Hub", "LagPolicy", "Subscription", "TopicRing"]

logger = logging.getLogger("sse_fast.broadcast")

LagPolicy = Literal["disconnect", "reset"]
_CLOSE_TURNS = 8
_UNSET: Any = object()
Replay = Literal["none", "complete", "reset"]


class TopicRing:
    """The last ``capacity`` events of one topic, contiguous within one epoch.

    It holds seqs ``first_seq .. next_seq - 1`` of ``epoch``. ``generation`` counts
    restarts (an epoch change, a gap that could not be filled): a subscriber that saw an
    older generation gets ``reset`` and resumes at ``reset_seq``.
    """

    __slots__ = (
        "_changed",
        "_slots",
        "capacity",
        "closed",
        "closing",
        "epoch",
        "filling",
        "first_seq",
        "generation",
        "next_seq",
        "pending",
        "pushers",
        "reset",
        "reset_seq",
        "stale",
        "taking",
        "topic",
        "users",
        "watched",
    )

    def __init__(self, topic: str, capacity: int) -> None:
        self.topic = topic
        self.capacity = capacity
        self._slots: list[Event | None] = [None] * capacity
        self.epoch: str | None = None
        self.first_seq = 1
        self.next_seq = 1
        self.generation = 0
        self.reset: Reset | None = None
        self.reset_seq = 0
        # Live events that arrived ahead of a gap being filled, by seq (bounded by the hub).
        self.pending: dict[int, tuple[str | None, bytes]] = {}
        # The live feed was interrupted: the ring must be read up to the head.
        self.stale = False
        self.users = 0
        self.closed = False
        self.watched: asyncio.Task[None] | None = None
        self.closing: asyncio.Task[None] | None = None
        self.filling: asyncio.Task[None] | None = None
        self._changed: asyncio.Event | None = None
        # Subscribers streamed by the engine and waiting at the head: the hub writes the
        # next event through their streams itself, or wakes them (set the future).
        self.pushers: dict[Subscription, asyncio.Future[None]] = {}
        # Streamed subscribers whose stream is taking an event from the ring (the hub
        # cuts off one whose client stalls while the ring turns over).
        self.taking: dict[Subscription, None] = {}

    @property
    def head_seq(self) -> int:
        return self.next_seq - 1

    def get(self, seq: int) -> Event:
        event = self._slots[seq % self.capacity]
        assert event is not None
        return event

    def append(self, event: Event) -> None:
        seq = self.next_seq
        self._slots[seq % self.capacity] = event
        self.next_seq = seq + 1
        if self.next_seq - self.first_seq > self.capacity:
            self.first_seq = self.next_seq - self.capacity

    def restart(self, epoch: str, head_seq: int, reset: Reset | None) -> None:
        """Empty the ring and continue after ``head_seq`` of ``epoch``."""
        self._slots = [None] * self.capacity
        self.epoch = epoch
        self.first_seq = self.next_seq = head_seq + 1
        self.generation += 1
        self.reset = reset
        self.reset_seq = head_seq
        for seq in [seq for seq in self.pending if seq <= head_seq]:
            del self.pending[seq]

    def notify(self) -> None:
        """Wake every subscriber waiting for the ring to change."""
        self.notify_readers()
        if self.pushers:
            pushers, self.pushers = self.pushers, {}
            for woken in pushers.values():
                if not woken.done():
                    woken.set_result(None)

    def notify_readers(self) -> None:
        """Wake the subscribers iterated without a stream."""
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    def push(self, event: Event) -> None:
        """Write ``event`` (the next after every pusher's cursor) through the pushers'
        streams; a stream that cannot take it now has its subscriber woken to read it."""
        pushers, self.pushers = self.pushers, {}
        seq = self.next_seq - 1
        # The frame for each (sep, convert) of the streams, made once: None when a
        # stream's convert turns the event into something else (it then reads it).
        sep, convert, frame = "", _UNSET, None
        for subscription, woken in pushers.items():
            stream = subscription._stream
            assert stream is not None
            options = stream.options
            if options.sep != sep or options.convert is not convert:
                sep, convert = options.sep, options.convert
                frame = event.__sse_frame__(sep) if _kept_as_is(convert, event) else None
            if subscription._cursor == seq - 1 and frame is not None and write_now(stream, frame):
                subscription._cursor = seq
                self.pushers[subscription] = woken
            elif not woken.done():
                woken.set_result(None)

    async def changed(self) -> None:
        if self._changed is None:
            self._changed = asyncio.Event()
        await self._changed.wait()


class Hub:
    """Rings for the topics this process's subscribers follow, fed by one backend."""

    def __init__(
        self,
        backend: Backend,
        *,
        ring_size: int,
        max_replay: int,
        on_lag: LagPolicy,
        reset_event: str,
        max_subscribers: int | None = None,
    ) -> None:
        self.backend = backend
        self.max_subscribers = max_subscribers
        self.subscribers = 0  # open subscriptions, or opening
        self.ring_size = ring_size
        self.max_replay = max_replay
        self.on_lag = on_lag
        self.reset_event = reset_event
        self.rings: dict[str, TopicRing] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.running = False

    # -------------------------------------------------------------- backend side

    def deliver(self, topic: str, epoch: str, seq: int, event: str | None, data: bytes) -> None:
        """A live event from the backend (the ``deliver`` callback of ``Backend.start``)."""
        ring = self.rings.get(topic)
        if ring is None or ring.closing is not None:
            return
        if ring.epoch is None:
            ring.restart(epoch, seq - 1, None)
        elif epoch != ring.epoch:
            ring.pending.clear()
            self.restart(ring, epoch, seq - 1, "epoch")
        if seq < ring.next_seq:
            return  # a duplicate, or our own publish echoed back
        if seq == ring.next_seq and ring.filling is None:
            item = self.event(topic, epoch, seq, event, data)
            ring.append(item)
            if ring.pushers:
                ring.push(item)
            if ring.pending:  # left by a fill that failed: this may close its gap
                self._take_pending(ring)
            ring.notify_readers()
            if ring.taking and self.on_lag == "disconnect":
                self._cut_off_stalled(ring)
            return
        if len(ring.pending) >= self.max_replay:
            # The gap outgrew what a fill may read: give up on it rather than buffer more.
            ring.pending.clear()
            self.restart(ring, epoch, seq - 1, "too_far")
            ring.append(self.event(topic, epoch, seq, event, data))
            ring.notify()
            return
        ring.pending[seq] = (event, data)
        if ring.filling is None:
            ring.filling = self.spawn(self._fill(ring))

    def _cut_off_stalled(self, ring: TopicRing) -> None:
        """End the streams whose client has not taken a write while the ring turned
        over: they lagged, and waiting for their send would only delay the news."""
        first_seq = ring.first_seq
        for subscription in list(ring.taking):
            stream = subscription._stream
            if subscription._cursor + 1 < first_seq and stream is not None and stream.writing:
                del ring.taking[subscription]
                subscription.lagged = True
                logger.info("a subscriber of %r lagged behind a stalled send: cut off", ring.topic)
                stream.stop()

    def resync(self) -> None:
        """The live feed was interrupted: read every ring's missed events from history."""
        for ring in self.rings.values():
            if ring.epoch is not None and ring.closing is None:
                ring.stale = True
                if ring.filling is None:
                    ring.filling = self.spawn(self._fill(ring))

    def event(self, topic: str, epoch: str, seq: int, name: str | None, data: bytes) -> Event:
        return Event(format_id(epoch, seq), topic, name, data.decode("utf-8", "replace"))

    def restart(self, ring: TopicRing, epoch: str, head_seq: int, reason: ResetReason) -> None:
        reset = Reset(format_id(epoch, head_seq), reason, self.reset_event)
        ring.restart(epoch, head_seq, reset)
        logger.info("topic %r restarts at %s: %s", ring.topic, reset.id, reason)
        ring.notify()

    async def _fill(self, ring: TopicRing) -> None:
        try:
            await self._fill_gaps(ring)
        except (BrokerUnavailable, ConnectionError, OSError) as error:
            # Retried on the next live event, or when the backend calls resync() again.
            ring.stale = True
            logger.warning("cannot fill topic %r from history: %s", ring.topic, error)
        finally:
            ring.filling = None

    async def _fill_gaps(self, ring: TopicRing) -> None:
        topic = ring.topic
        while not ring.closed:
            self._take_pending(ring)
            generation = ring.generation
            assert ring.epoch is not None
            if ring.stale:
                ring.stale = False
                head = await self.backend.head(topic)
                if generation != ring.generation:
                    continue
                if head.epoch != ring.epoch:
                    self.restart(ring, head.epoch, head.seq, "epoch")
                    continue
                target = head.seq
            elif ring.pending:
                target = min(ring.pending) - 1
            else:
                return
            after = ring.head_seq
            if target <= after:
                continue
            if target - after > self.max_replay:
                self.restart(ring, ring.epoch, target, "too_far")
                continue
            epoch = ring.epoch
            try:
                stored = await self.backend.read(topic, epoch, after, target - after)
            except Gap as gap:
                if generation == ring.generation:
                    self.restart(ring, epoch, target, gap.reason)
                continue
            if generation != ring.generation:
                continue
            for item in stored:
                if item.seq == ring.next_seq:
                    ring.append(self.event(topic, epoch, item.seq, item.event, item.data))
            if ring.head_seq < target:
                # The backend gave less than it holds without saying why: never a silent gap.
                self.restart(ring, epoch, target, "trimmed")
            ring.notify()

    def _take_pending(self, ring: TopicRing) -> None:
        pending = ring.pending
        appended = False
        for seq in sorted(pending):
            if seq < ring.next_seq:
                del pending[seq]
            elif seq == ring.next_seq:
                name, data = pending.pop(seq)
                assert ring.epoch is not None
                ring.append(self.event(ring.topic, ring.epoch, seq, name, data))
                appended = True
            else:
                break
        if appended:
            ring.notify()

    # ----------------------------------------------------------- subscriber side

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def acquire(self, topic: str) -> TopicRing:
        """The topic's ring, with the backend's live feed for it confirmed."""
        while True:
            ring = self.rings.get(topic)
            if ring is not None and ring.closing is not None:
                await asyncio.shield(ring.closing)
                continue
            if ring is None:
                ring = self.rings[topic] = TopicRing(topic, self.ring_size)
                ring.watched = self.spawn(self.backend.watch(topic))
            ring.users += 1
            assert ring.watched is not None
            try:
                await asyncio.shield(ring.watched)
            except BaseException:
                self.release(ring)
                raise
            return ring

    def release(self, ring: TopicRing) -> asyncio.Task[None] | None:
        """One subscriber less; the last one stops the topic's live feed."""
        ring.users -= 1
        if ring.users == 0 and ring.closing is None:
            ring.closing = self.spawn(self._unwatch(ring))
        return ring.closing

    async def _unwatch(self, ring: TopicRing) -> None:
        try:
            assert ring.watched is not None
            await asyncio.wait([ring.watched])
            if ring.filling is not None:
                ring.filling.cancel()
            if ring.watched.cancelled() or ring.watched.exception() is not None:
                return
            await self.backend.unwatch(ring.topic)
        except Exception as error:
            logger.warning("cannot stop watching topic %r: %s", ring.topic, error)
        finally:
            if self.rings.get(ring.topic) is ring:
                del self.rings[ring.topic]

    async def close(self) -> None:
        """End every subscription and wait for the hub's own tasks."""
        self.running = False
        for ring in self.rings.values():
            ring.closed = True
            ring.notify()
        # A woken stream needs a turn or two to end and let its topic go before the
        # backend closes; a subscription nobody iterates is not waited for.
        for _ in range(_CLOSE_TURNS):
            if not any(ring.users for ring in self.rings.values()):
                break
            await asyncio.sleep(0)
        while self.tasks:
            await asyncio.wait(list(self.tasks))
        self.rings.clear()


class Subscription:
    """One subscriber of one topic: an async context manager and an async iterator.

    Entering it (or starting to iterate it) performs the handshake: the topic's live
    feed is confirmed, the head read, and the events after ``last_event_id`` read from
    history, so ``replay`` and ``head`` are known before a response starts. Iterating
    yields :class:`Event` and :class:`Reset` items, per topic in order and without
    duplicates; it ends when the broker closes, or when the subscriber lagged more than
    the ring behind with ``on_lag="disconnect"``. Streamed by the engine (a response's
    source), it is told its stream first (``__sse_attach__``), and events that find the
    stream idle are written through it by the delivering task rather than yielded.
    """

    def __init__(self, hub: Hub, topic: str, last_event_id: str | None) -> None:
        if last_event_id is not None and not isinstance(last_event_id, str):
            raise TypeError(
                f"last_event_id must be str or None, not {type(last_event_id).__name__}"
            )
        self._hub = hub
        self.topic = check_topic(topic)
        self.last_event_id = last_event_id or None
        self.head: str | None = None
        self.replay: Replay = "none"
        self.lagged = False
        self._ring: TopicRing | None = None
        self._state: Literal["new", "open", "closed"] = "new"
        self._iterated = False
        self._cursor = 0
        self._generation = 0
        self._reset: Reset | None = None
        self._replayed: deque[StoredEvent] = deque()
        self._replay_epoch = ""
        self._catching_up = False
        self._stream: EventStream | None = None

    def __sse_attach__(self, stream: EventStream) -> None:
        """The engine's ``stream`` is about to iterate this subscription: while it waits
        for the next event, the hub writes that event through the stream itself."""
        if not self._iterated:
            self._stream = stream

    async def __aenter__(self) -> Subscription:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> None:
        """The subscribe handshake; a no-op once done."""
        if self._state != "new":
            if self._state == "closed":
                raise RuntimeError("this Subscription is closed")
            return
        hub = self._hub
        if not hub.running:
            raise RuntimeError(
                "the Broker is not started: use `async with broker:` (in the lifespan)"
            )
        if hub.max_subscribers is not None and hub.subscribers >= hub.max_subscribers:
            raise TooManySubscribers(
                f"this process already has max_subscribers={hub.max_subscribers} open subscriptions"
            )
        hub.subscribers += 1  # counted before the first await, so racing opens see it
        try:
            ring = await hub.acquire(self.topic)
        except BaseException:
            hub.subscribers -= 1
            raise
        try:
            head = await hub.backend.head(self.topic)
            if ring.epoch is None:
                ring.restart(head.epoch, head.seq, None)
            assert ring.epoch is not None
            self._generation = ring.generation
            # The ring is the authority on the live stream; the head tells where "now" is.
            start = head.seq if head.epoch == ring.epoch else ring.head_seq
            self._cursor = start
            self.head = format_id(ring.epoch, start)
            if self.last_event_id is not None:
                await self._start_after(ring, self.last_event_id, start)
        except BaseException:
            hub.subscribers -= 1
            hub.release(ring)
            raise
        self._ring = ring
        self._state = "open"

    async def _start_after(self, ring: TopicRing, last_event_id: str, start: int) -> None:
        assert ring.epoch is not None
        cursor = parse_id(last_event_id)
        if cursor is None:
            return self._start_with_reset("invalid_id")
        epoch, seq = cursor
        if epoch != ring.epoch:
            return self._start_with_reset("epoch")
        if seq > max(start, ring.head_seq):
            return self._start_with_reset("invalid_id")  # ahead of the topic: forged
        if start - seq > self._hub.max_replay:
            return self._start_with_reset("too_far")
        self._cursor = seq
        self.replay = "complete"
        self._catching_up = True
        if seq + 1 < ring.first_seq:
            try:
                stored = await self._hub.backend.read(self.topic, epoch, seq, start - seq)
            except Gap as gap:
                self._cursor = start
                return self._start_with_reset(gap.reason)
            if not _contiguous(stored, seq):
                self._cursor = start
                return self._start_with_reset("trimmed")
            self._replayed.extend(stored)
            self._replay_epoch = epoch
        return None

    def _start_with_reset(self, reason: ResetReason) -> None:
        assert self.head is not None
        self.replay = "reset"
        self._reset = Reset(self.head, reason, self._hub.reset_event)

    async def close(self) -> None:
        """Leave the topic (idempotent); the last local subscriber stops its live feed."""
        ring, self._ring = self._ring, None
        self._state = "closed"
        if ring is not None:
            self._hub.subscribers -= 1
            closing = self._hub.release(ring)
            if closing is not None:
                await asyncio.shield(closing)

    def __aiter__(self) -> AsyncIterator[Event | Reset]:
        if self._iterated:
            raise RuntimeError("a Subscription can be iterated once")
        self._iterated = True
        return self._items()

    async def _items(self) -> AsyncIterator[Event | Reset]:
        ring: TopicRing | None = None
        try:
            await self.open()
            ring = self._ring
            assert ring is not None
            hub = self._hub
            if self._reset is not None:
                yield self._reset
            while self._replayed:
                stored = self._replayed.popleft()
                if stored.seq > self._cursor:
                    self._cursor = stored.seq
                    yield hub.event(
                        self.topic, self._replay_epoch, stored.seq, stored.event, stored.data
                    )
            while not ring.closed:
                if self._generation != ring.generation:
                    self._generation = ring.generation
                    self._cursor = ring.reset_seq
                    if ring.reset is not None:
                        yield ring.reset
                    continue
                wanted = self._cursor + 1
                if wanted < ring.next_seq:
                    if wanted >= ring.first_seq:
                        self._catching_up = False
                        self._cursor = wanted
                        if self._stream is None:
                            yield ring.get(wanted)
                            continue
                        ring.taking[self] = None
                        yield ring.get(wanted)
                        ring.taking.pop(self, None)
                        continue
                    if self._catching_up and ring.next_seq - wanted <= hub.max_replay:
                        async for item in self._read_missed(ring):
                            yield item
                        continue
                    if hub.on_lag == "disconnect":
                        self.lagged = True
                        if self._stream is not None and self._stream.writing:
                            self._stream.stop()  # a stalled send: no wait to end the body
                        return
                    assert ring.epoch is not None
                    self._cursor = ring.head_seq
                    yield Reset(format_id(ring.epoch, self._cursor), "lagged", hub.reset_event)
                    continue
                if self._stream is None:
                    await ring.changed()
                    continue
                woken = ring.pushers[self] = asyncio.get_running_loop().create_future()
                try:
                    await woken
                finally:
                    if ring.pushers.get(self) is woken:
                        del ring.pushers[self]
        finally:
            if ring is not None:
                ring.taking.pop(self, None)
            await self.close()

    async def _read_missed(self, ring: TopicRing) -> AsyncIterator[Event | Reset]:
        """Between the replay and the ring: what a burst pushed out of the ring meanwhile."""
        self._catching_up = False
        epoch, generation, after = ring.epoch, ring.generation, self._cursor
        assert epoch is not None
        limit = ring.first_seq - 1 - after
        reason: ResetReason | None = None
        try:
            stored = await self._hub.backend.read(self.topic, epoch, after, limit)
        except Gap as gap:
            stored, reason = [], gap.reason
        if not _contiguous(stored, after):
            reason = "trimmed"
        if generation != ring.generation:
            return  # the ring restarted meanwhile: its own Reset comes next
        if reason is not None:
            self._cursor = ring.head_seq
            yield Reset(format_id(epoch, self._cursor), reason, self._hub.reset_event)
            return
        for item in stored:
            self._cursor = item.seq
            yield self._hub.event(self.topic, epoch, item.seq, item.event, item.data)


def _kept_as_is(convert: Any, event: Event) -> bool:
    """Whether a stream's ``convert`` leaves the event as it is. One that fails is the
    stream's failure, not the publisher's: the stream converts the event itself."""
    if convert is None:
        return True
    try:
        return convert(event) is event
    except Exception:
        return False


def _contiguous(stored: list[StoredEvent], after: int) -> bool:
    return all(item.seq == after + 1 + index for index, item in enumerate(stored))
