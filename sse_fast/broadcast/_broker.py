"""The broker: publish to a topic once, deliver to every subscriber of it, replay on resume."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any, get_args

from ._backend import Backend, check_topic, format_id
from ._hub import Hub, LagPolicy, Subscription
from ._items import DEFAULT_RESET_EVENT
from ._memory import MemoryBackend

__all__ = ["Broker"]

_FORBIDDEN_IN_NAMES = ("\r", "\n", "\0")


class Broker:
    """Fan-out of events by topic, with ``Last-Event-ID`` replay.

    ``backend`` stores history and carries events between processes; the default, a
    :class:`MemoryBackend`, serves one process (``history_ttl`` and ``max_topics``
    configure it and are refused with any other backend). ``history`` is the number of
    recent events per topic kept in this process's ring, which is also the memory
    backend's history. A reconnecting client gets at most ``max_replay`` missed events,
    else a ``Reset("too_far")``. ``on_lag`` says what happens to a subscriber more than
    ``history`` events behind: ``"disconnect"`` ends its iteration (the client
    reconnects and replays), ``"reset"`` gives it one ``Reset("lagged")`` and moves it
    to the head. Resets are sent as events named ``reset_event``. ``publish`` refuses
    data longer than ``max_event_bytes`` (UTF-8). ``max_subscribers`` caps the open
    subscriptions of this process (``None``: no cap); one more raises
    :class:`TooManySubscribers` when it opens, which the web helpers answer with 503.

    Run it in the app's lifespan: ``async with broker: ...``.
    """

    def __init__(
        self,
        backend: Backend | None = None,
        *,
        history: int = 1000,
        history_ttl: float | None = None,
        max_topics: int | None = None,
        max_replay: int = 1000,
        on_lag: LagPolicy = "disconnect",
        reset_event: str = DEFAULT_RESET_EVENT,
        max_event_bytes: int = 64 * 1024,
        max_subscribers: int | None = None,
    ) -> None:
        _check_int("history", history, 1)
        if max_subscribers is not None:
            _check_int("max_subscribers", max_subscribers, 1)
        _check_int("max_replay", max_replay, 0)
        _check_int("max_event_bytes", max_event_bytes, 1)
        if on_lag not in get_args(LagPolicy):
            raise ValueError(f"on_lag must be 'disconnect' or 'reset', got {on_lag!r}")
        _check_event_name("reset_event", reset_event)
        if backend is None:
            backend = MemoryBackend(
                history=history,
                history_ttl=history_ttl,
                max_topics=10_000 if max_topics is None else max_topics,
            )
        elif history_ttl is not None or max_topics is not None:
            raise TypeError(
                "history_ttl and max_topics configure the default MemoryBackend; "
                "pass them to the backend you give instead"
            )
        self.backend: Backend = backend
        self.max_event_bytes = max_event_bytes
        self._hub = Hub(
            backend,
            ring_size=history,
            max_replay=max_replay,
            on_lag=on_lag,
            reset_event=reset_event,
            max_subscribers=max_subscribers,
        )
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def subscribers(self) -> int:
        """The subscriptions of this process that are open (or opening) now."""
        return self._hub.subscribers

    @property
    def started(self) -> bool:
        return self._loop is not None

    async def start(self) -> None:
        """Start the backend's live feed (in the app's lifespan, after the worker fork)."""
        if self._loop is not None:
            raise RuntimeError("the Broker is already started")
        await self.backend.start(self._hub.deliver, self._hub.resync)
        self._loop = asyncio.get_running_loop()
        self._hub.running = True

    async def close(self) -> None:
        """End every subscription, then stop the backend."""
        if self._loop is None:
            return
        try:
            await self._hub.close()
        finally:
            self._loop = None
            await self.backend.close()

    async def __aenter__(self) -> Broker:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def publish(self, topic: str, data: str | bytes, *, event: str | None = None) -> str:
        """Publish ``data`` to ``topic``; return the event's id ``"<epoch>.<seq>"``.

        Raises :class:`BrokerUnavailable` when the backend could not store it.
        """
        payload = self._payload(topic, data, event)
        self._check_started()
        position = await self.backend.publish(topic, event, payload)
        return format_id(*position)

    def publish_sync(self, topic: str, data: str | bytes, *, event: str | None = None) -> str:
        """:meth:`publish` for code outside the event loop (threads, Celery, Django views).

        Uses the backend's own ``publish_sync`` when it has one (Redis publishes from the
        calling thread), else runs :meth:`publish` on the broker's loop and waits.
        """
        payload = self._payload(topic, data, event)
        publish_sync = getattr(self.backend, "publish_sync", None)
        if publish_sync is not None:
            return format_id(*publish_sync(topic, event, payload))
        loop = self._check_started()
        if _running_loop() is loop:
            raise RuntimeError(
                "publish_sync was called on the broker's event loop: await broker.publish() there"
            )
        future: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(
            self.backend.publish(topic, event, payload), loop
        )
        return format_id(*future.result())

    def subscribe(self, topic: str, *, last_event_id: str | None = None) -> Subscription:
        """Follow ``topic``, after ``last_event_id`` when given (a reconnecting client).

        Use it as ``async with broker.subscribe(...) as sub: async for item in sub``, or
        hand it to a response as its source (it opens on first iteration and closes when
        the response ends).
        """
        return Subscription(self._hub, topic, last_event_id)

    async def head(self, topic: str) -> str:
        """The id of ``topic``'s newest event (``"<epoch>.0"`` before the first)."""
        check_topic(topic)
        self._check_started()
        return format_id(*await self.backend.head(topic))

    @property
    def topics(self) -> int:
        """Topics with at least one subscriber in this process."""
        return len(self._hub.rings)

    def _check_started(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError(
                "the Broker is not started: use `async with broker:` (in the lifespan)"
            )
        return self._loop

    def _payload(self, topic: str, data: object, event: object) -> bytes:
        check_topic(topic)
        if event is not None:
            _check_event_name("event", event)
        if isinstance(data, str):
            try:
                payload = data.encode()
            except UnicodeEncodeError as error:
                raise ValueError(f"data must be encodable as UTF-8: {error}") from None
        elif isinstance(data, bytes):
            payload = data
            try:
                payload.decode()
            except UnicodeDecodeError as error:
                raise ValueError(f"data must be UTF-8: {error}") from None
        else:
            raise TypeError(f"data must be str or bytes, not {type(data).__name__}")
        if len(payload) > self.max_event_bytes:
            raise ValueError(
                f"data must be at most max_event_bytes={self.max_event_bytes} bytes, "
                f"got {len(payload)}"
            )
        return payload


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _check_int(name: str, value: object, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def _check_event_name(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, not {type(value).__name__}")
    if not value or any(char in value for char in _FORBIDDEN_IN_NAMES):
        raise ValueError(f"{name} must be non-empty, without CR, LF or NUL: {value!r}")
