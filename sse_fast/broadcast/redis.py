"""The broker's Redis (and Valkey) backend: history in streams, live events by pub/sub.

Per topic ``t`` and prefix ``p`` there are three names, sharing the ``{t}`` hash tag so
one Lua call may touch them all (and Redis Cluster keeps them in one slot):

* ``p:{t}:m``, a hash: ``e`` the topic's epoch, ``s`` its newest seq;
* ``p:{t}:x``, a stream with ids ``<seq>-0`` and fields ``d`` (data) and ``e`` (event
  name, empty for none), bounded by ``MAXLEN ~ history`` and expiring ``history_ttl``
  seconds after the last publish;
* ``p:{t}:c``, a channel carrying ``"<epoch> <seq> <event>\\n<data>"``.

A publish is one Lua call, so the stream, the count and the live message never disagree.
Each process holds two connections whatever its number of topics and clients: one for
commands and one subscribed connection, read by a supervised task that reconnects with
backoff, subscribes again and asks the hub to fill the gap from the streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import threading
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript, Script
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from ._backend import (
    BrokerUnavailable,
    Deliver,
    Gap,
    Position,
    StoredEvent,
    check_topic,
    new_epoch,
)

__all__ = ["RedisBackend", "parse_message", "reconnect_delay"]

logger = logging.getLogger("sse_fast.broadcast.redis")

SUBSCRIBE_BATCH = 500  # channels per SUBSCRIBE / UNSUBSCRIBE command
YIELD_EVERY = 64  # messages the reader handles before it lets other tasks run
PIPELINE_BATCH = 512  # publishes sent in one round trip at most
_CONNECTION_LOST = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)
_EPOCH = re.compile(rb"[0-9a-f]{8}")
_SEQ = re.compile(rb"[1-9][0-9]{0,18}")
_PREFIX = re.compile(r"[A-Za-z0-9._:/-]{1,64}")

# KEYS: meta, stream. ARGV: new epoch, meta_ttl. Returns the epoch (new if the topic had
# none: its stream, a leftover of an expired meta hash, is dropped with it).
_ENSURE_EPOCH = """
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 's', 0)
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
"""

# ARGV: new epoch, meta_ttl, history, history_ttl, channel, event, data.
PUBLISH_SCRIPT = (
    _ENSURE_EPOCH
    + """
local seq = redis.call('HINCRBY', KEYS[1], 's', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], string.format('%d-0', seq),
           'd', ARGV[7], 'e', ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[5], epoch .. ' ' .. string.format('%d', seq) .. ' ' .. ARGV[6]
           .. '\\n' .. ARGV[7])
return {epoch, seq}
"""
)

# ARGV: new epoch, meta_ttl.
HEAD_SCRIPT = (
    _ENSURE_EPOCH
    + """
return {epoch, redis.call('HGET', KEYS[1], 's') or '0'}
"""
)

# ARGV: epoch, first stream id wanted, count. One snapshot of the head and the entries.
READ_SCRIPT = """
local meta = redis.call('HMGET', KEYS[1], 'e', 's')
local entries = {}
if meta[1] == ARGV[1] then
  entries = redis.call('XRANGE', KEYS[2], ARGV[2], '+', 'COUNT', ARGV[3])
end
return {meta[1] or '', meta[2] or '0', entries}
"""


def reconnect_delay(
    attempt: int, *, base: float, cap: float, rng: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before reconnect ``attempt`` (0 first): doubling from ``base`` up to
    ``cap``, then scaled into its upper half by ``rng()`` so workers do not retry in step."""
    ceiling = cap if attempt >= 64 else min(cap, base * 2.0**attempt)
    return ceiling * (0.5 + 0.5 * rng())


def parse_message(payload: bytes) -> tuple[str, int, str | None, bytes] | None:
    """``(epoch, seq, event, data)`` of a well-formed channel message, else ``None``.

    Anyone allowed to PUBLISH on the channels could send anything: what does not have the
    exact shape a publish writes is dropped rather than guessed at.
    """
    head, newline, data = payload.partition(b"\n")
    if not newline:
        return None
    parts = head.split(b" ", 2)
    if len(parts) != 3:
        return None
    epoch, seq, event = parts
    if _EPOCH.fullmatch(epoch) is None or _SEQ.fullmatch(seq) is None:
        return None
    try:
        name = event.decode()
    except UnicodeDecodeError:
        return None
    if "\r" in name or "\0" in name:
        return None
    return epoch.decode(), int(seq), name or None, data


def _position(reply: list[Any]) -> Position:
    epoch, seq = reply
    return Position(epoch.decode(), int(seq))


def _check_int(name: str, value: object, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}: {value!r}")
    return value


def _check_seconds(name: str, value: object) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite number of seconds >= 0: {value!r}")
    return float(value)


def _check_event(event: object) -> str:
    if event is None:
        return ""
    if not isinstance(event, str):
        raise TypeError(f"event must be str or None, not {type(event).__name__}")
    if any(char in event for char in "\r\n\0"):
        raise ValueError(f"event must not contain CR, LF or NUL: {event[:80]!r}")
    return event


def _check_data(data: object) -> bytes:
    if not isinstance(data, bytes):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    return data


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


class RedisBackend:
    """A :class:`~sse_fast.broadcast.Broker` backend on Redis or Valkey (5.0 or later).

    Build it with :meth:`from_url`. ``history`` events per topic stay replayable (at least;
    ``MAXLEN ~`` may keep a few more) while the topic had a publish in the last
    ``history_ttl`` seconds; its epoch and seq live ``meta_ttl`` seconds after the last
    publish, after which the topic starts a new epoch. ``max_connections`` bounds the
    command connections (the process also holds one subscribed connection);
    ``unwatch_linger`` seconds pass before a topic nobody watches is unsubscribed, so a
    client that reconnects at once does not cost a round of UNSUBSCRIBE and SUBSCRIBE.
    The subscribed connection is PINGed when quiet for ``ping_interval`` seconds and
    replaced when the answer does not come in as long.
    Other keyword arguments go to redis-py's connections (``ssl_ca_certs``, ``username``...).
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "sse",
        history: int = 1000,
        history_ttl: int = 300,
        meta_ttl: int = 86400,
        max_connections: int = 1,
        unwatch_linger: float = 5.0,
        command_timeout: float = 5.0,
        reconnect_base: float = 0.1,
        reconnect_cap: float = 10.0,
        ping_interval: float = 30.0,
        **connection_options: Any,
    ) -> None:
        if not isinstance(url, str):
            raise TypeError(f"url must be str, not {type(url).__name__}")
        scheme = urlsplit(url).scheme
        if scheme not in ("redis", "rediss", "unix"):
            raise ValueError(
                f"url must start with redis://, rediss:// or unix://: {_without_password(url)!r}"
            )
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be str, not {type(prefix).__name__}")
        if _PREFIX.fullmatch(prefix) is None:
            raise ValueError(
                f"prefix must be 1 to 64 characters from A-Z a-z 0-9 . _ : / -: {prefix!r}"
            )
        self.history = _check_int("history", history, 1)
        self.history_ttl = _check_int("history_ttl", history_ttl, 1)
        self.meta_ttl = _check_int("meta_ttl", meta_ttl, 1)
        if meta_ttl < history_ttl:
            # The seq must outlive the history, or a topic would restart at 1 under old ids.
            raise ValueError(f"meta_ttl must be at least history_ttl ({history_ttl}): {meta_ttl!r}")
        self.max_connections = _check_int("max_connections", max_connections, 1)
        self.unwatch_linger = _check_seconds("unwatch_linger", unwatch_linger)
        self.command_timeout = _check_seconds("command_timeout", command_timeout)
        self.reconnect_base = _check_seconds("reconnect_base", reconnect_base)
        self.reconnect_cap = _check_seconds("reconnect_cap", reconnect_cap)
        self.ping_interval = _check_seconds("ping_interval", ping_interval)
        if not self.ping_interval:
            raise ValueError(f"ping_interval must be more than 0 seconds: {ping_interval!r}")
        self.url = url
        self.prefix = prefix
        self.reconnects = 0  # times the subscribed connection was restored after a loss
        self.dropped_messages = 0  # malformed channel messages ignored
        self._options = {
            "socket_connect_timeout": self.command_timeout,
            "socket_keepalive": True,
            # publish() decides itself what is retried: redis-py's retries would make a dead
            # Redis take seconds to report and could store an event several times.
            "retry": Retry(NoBackoff(), 0),
            **connection_options,
        }
        self._channel_head = f"{prefix}:{{".encode()
        self._deliver: Deliver | None = None
        self._resync: Callable[[], None] | None = None
        self._client: redis.asyncio.Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}
        self._sync_client: redis.Redis | None = None
        self._sync_scripts: dict[str, Script] = {}
        self._sync_lock = threading.Lock()
        self._subscriber_pool: redis.asyncio.ConnectionPool | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connection: redis.asyncio.Connection | None = None
        self._send_lock = asyncio.Lock()
        self._watched: set[str] = set()  # topics the hub wants delivered
        self._subscribed: set[str] = set()  # confirmed on the current connection
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._to_subscribe: set[str] = set()
        self._to_unsubscribe: set[str] = set()
        self._lingering: dict[str, asyncio.TimerHandle] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._calls = 0  # commands in flight; close() lets them end before closing the pool
        self._outbox: list[tuple[list[str], list[Any], asyncio.Future[Position]]] = []
        self._sender: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self._last_reply = 0.0  # loop time of the subscribed connection's latest reply
        self._watchdog: asyncio.TimerHandle | None = None
        self._chores: set[asyncio.Task[None]] = set()  # PINGs and disconnects it started
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisBackend:
        """A backend on ``redis://[user:password@]host:port/db`` (``rediss://`` for TLS).

        ``options`` are the class's (``prefix``, ``history``, ``history_ttl``,
        ``meta_ttl``, ...) and redis-py's connection options. Nothing connects until the
        broker starts.
        """
        return cls(url, **options)

    def __repr__(self) -> str:
        return f"RedisBackend({_without_password(self.url)!r}, prefix={self.prefix!r})"

    # Names -------------------------------------------------------------------------------

    def _keys(self, topic: str) -> list[str]:
        return [f"{self.prefix}:{{{topic}}}:m", f"{self.prefix}:{{{topic}}}:x"]

    def _channel(self, topic: str) -> bytes:
        return f"{self.prefix}:{{{topic}}}:c".encode()

    def _topic_of(self, channel: object) -> str | None:
        if (
            not isinstance(channel, bytes)
            or not channel.startswith(self._channel_head)
            or not channel.endswith(b"}:c")
        ):
            return None
        return channel[len(self._channel_head) : -3].decode("ascii", "replace")

    def _publish_args(self, topic: str, event: str | None, data: bytes) -> list[Any]:
        return [
            new_epoch(),
            self.meta_ttl,
            self.history,
            self.history_ttl,
            self._channel(topic),
            _check_event(event),
            _check_data(data),
        ]

    # Lifetime ----------------------------------------------------------------------------

    async def start(self, deliver: Deliver, resync: Callable[[], None]) -> None:
        """Connect, then keep the subscribed connection alive until :meth:`close`.

        Raises :class:`BrokerUnavailable` when Redis cannot be reached now, so a wrong URL
        stops the app at startup instead of leaving it deaf.
        """
        if self._reader is not None:
            raise RuntimeError("RedisBackend.start() was already called")
        self._deliver = deliver
        self._resync = resync
        self._client = redis.asyncio.Redis(
            connection_pool=redis.asyncio.BlockingConnectionPool.from_url(
                self.url,
                max_connections=self.max_connections,
                timeout=None,
                socket_timeout=self.command_timeout,
                **self._options,
            )
        )
        self._scripts = {
            "publish": self._client.register_script(PUBLISH_SCRIPT),
            "head": self._client.register_script(HEAD_SCRIPT),
            "read": self._client.register_script(READ_SCRIPT),
        }
        # The subscribed connection blocks in reads for as long as the channels are quiet,
        # so it has no socket timeout, and RESP2 so that messages are plain replies.
        self._subscriber_pool = redis.asyncio.ConnectionPool.from_url(
            self.url, socket_timeout=None, protocol=2, **self._options
        )
        try:
            connection = await self._connect()
        except _CONNECTION_LOST as exc:
            client, self._client = self._client, None
            await self._release_clients(client)
            raise BrokerUnavailable(
                f"cannot connect to Redis at {_without_password(self.url)}: {exc}"
            ) from exc
        self._connection = connection  # closed by close() even if the reader never ran
        self._reader = asyncio.get_running_loop().create_task(
            self._supervise(connection), name=f"sse_fast redis reader {self.prefix}"
        )

    async def close(self) -> None:
        """Stop the reader, drop every subscription and close every connection.

        The work runs to its end even when the caller is cancelled (an app shutting down
        on a deadline), since an interrupted close would leave connections open.
        """
        if self._closing is None or self._closing.done():
            self._closing = asyncio.get_running_loop().create_task(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        client, self._client = self._client, None  # from here on no command starts
        try:
            await self._stop_tasks()
            # A command cancelled while it connected puts its connection back into the
            # pool when it unwinds: closing the pool before that would leak it.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self.command_timeout)
        finally:
            await self._release_clients(client)
            with self._sync_lock:
                sync_client, self._sync_client = self._sync_client, None
            if sync_client is not None:
                sync_client.close()

    async def _stop_tasks(self) -> None:
        reader, self._reader = self._reader, None
        for handle in self._lingering.values():
            handle.cancel()
        self._lingering.clear()
        for future in self._confirmations.values():
            future.cancel()
        self._confirmations.clear()
        self._watched.clear()
        self._subscribed.clear()
        self._to_subscribe.clear()
        self._to_unsubscribe.clear()
        for task in (reader, self._flusher, *self._chores):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._flusher = None

    async def _release_clients(self, client: redis.asyncio.Redis | None) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.disconnect(nowait=True)
        if self._subscriber_pool is not None:
            await self._subscriber_pool.disconnect()
            self._subscriber_pool = None
        if client is not None:
            await client.aclose(close_connection_pool=True)

    def _require_started(self) -> redis.asyncio.Redis:
        if self._client is None:
            raise RuntimeError("the RedisBackend is not running: start the Broker first")
        return self._client

    # Commands ----------------------------------------------------------------------------

    async def _call(self, name: str, keys: Sequence[str], args: Iterable[Any]) -> Any:
        client = self._require_started()
        self._calls += 1
        self._idle.clear()
        try:
            return await self._call_with_retry(client, name, keys, args)
        finally:
            self._calls -= 1
            if not self._calls:
                self._idle.set()

    async def _call_with_retry(
        self, client: redis.asyncio.Redis, name: str, keys: Sequence[str], args: Iterable[Any]
    ) -> Any:
        script = self._scripts[name]
        arguments = list(args)
        try:
            return await script(keys=keys, args=arguments, client=client)
        except RedisConnectionError:
            pass  # a pooled connection that died with a restarted Redis fails once (§3.6)
        except RedisTimeoutError as exc:
            raise self._timed_out(name) from exc
        if self._client is not client:
            raise BrokerUnavailable("the RedisBackend was closed during the call")
        try:
            return await script(keys=keys, args=arguments, client=client)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: Exception) -> BrokerUnavailable:
        return BrokerUnavailable(f"Redis at {_without_password(self.url)} is unavailable: {exc}")

    def _timed_out(self, command: str) -> BrokerUnavailable:
        return BrokerUnavailable(
            f"Redis at {_without_password(self.url)} did not answer {command} in "
            f"{self.command_timeout} s (it may still have run)"
        )

    async def publish(self, topic: str, event: str | None, data: bytes) -> Position:
        """Store the event in ``topic``'s stream and send it live, in one Lua call.

        A connection error is retried once, so an event may, rarely, be stored twice.
        Raises :class:`BrokerUnavailable` when it could not be stored.
        """
        check_topic(topic)
        self._require_started()
        publication: asyncio.Future[Position] = asyncio.get_running_loop().create_future()
        self._outbox.append(
            (self._keys(topic), self._publish_args(topic, event, data), publication)
        )
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_outbox())
        return await publication

    async def _send_outbox(self) -> None:
        """Send the waiting publishes, all of them in one pipeline per round trip.

        Publishers that await together share a round trip instead of queueing for the
        connection one by one, so the rate grows with them on a single connection.
        """
        self._calls += 1
        self._idle.clear()
        try:
            while self._outbox:
                batch, self._outbox = self._outbox[:PIPELINE_BATCH], self._outbox[PIPELINE_BATCH:]
                try:
                    replies = await self._pipeline([(keys, args) for keys, args, _ in batch])
                except Exception as error:
                    replies = [error] * len(batch)
                for (_, _, publication), reply in zip(batch, replies, strict=True):
                    if publication.done():
                        continue  # its publisher was cancelled; the event may be stored
                    if isinstance(reply, Exception):
                        publication.set_exception(reply)
                    else:
                        publication.set_result(_position(reply))
        finally:
            self._calls -= 1
            if not self._calls:
                self._idle.set()

    async def _pipeline(self, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        client = self._require_started()
        replies = await self._execute(client, calls)
        missing = [index for index, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:
            # Redis restarted (or SCRIPT FLUSH) since the script was loaded: the calls that
            # failed for it did not run. Load it and send those again.
            try:
                await client.script_load(PUBLISH_SCRIPT)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                raise self._unavailable(exc) from exc
            again = await self._execute(client, [calls[index] for index in missing])
            for index, reply in zip(missing, again, strict=True):
                replies[index] = reply
        return replies

    async def _execute(
        self, client: redis.asyncio.Redis, calls: list[tuple[list[str], list[Any]]]
    ) -> list[Any]:
        sha = self._scripts["publish"].sha
        for attempt in range(2):
            pipeline = client.pipeline(transaction=False)
            for keys, args in calls:
                pipeline.evalsha(sha, len(keys), *keys, *args)
            try:
                replies: list[Any] = await pipeline.execute(raise_on_error=False)
            except RedisConnectionError as exc:
                # A pooled connection that died with a restarted Redis fails once (§3.6).
                if attempt or self._client is not client:
                    raise self._unavailable(exc) from exc
                continue
            except RedisTimeoutError as exc:
                raise self._timed_out("publish") from exc
            return replies
        raise AssertionError("unreachable")

    def publish_sync(self, topic: str, event: str | None, data: bytes) -> Position:
        """:meth:`publish` for code outside the event loop (Celery, Django, scripts).

        It uses its own blocking connection, opened at the first call; any thread may call
        it. It needs no started broker: a worker process may only publish.
        """
        check_topic(topic)
        keys = self._keys(topic)
        args = self._publish_args(topic, event, data)
        with self._sync_lock:
            if self._sync_client is None:
                self._sync_client = redis.Redis.from_url(
                    self.url, socket_timeout=self.command_timeout, **self._options
                )
                self._sync_scripts = {"publish": self._sync_client.register_script(PUBLISH_SCRIPT)}
            client, script = self._sync_client, self._sync_scripts["publish"]
        try:
            return _position(script(keys=keys, args=args, client=client))
        except RedisConnectionError:
            pass
        except RedisTimeoutError as exc:
            raise self._timed_out("publish") from exc
        try:
            return _position(script(keys=keys, args=args, client=client))
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise self._unavailable(exc) from exc

    async def head(self, topic: str) -> Position:
        """``topic``'s epoch and newest seq; a topic Redis does not know gets its epoch."""
        check_topic(topic)
        return _position(await self._call("head", self._keys(topic), [new_epoch(), self.meta_ttl]))

    async def read(self, topic: str, epoch: str, after: int, limit: int) -> list[StoredEvent]:
        """Up to ``limit`` events of ``epoch`` with ``seq > after``, read in one snapshot.

        Raises ``Gap("epoch")`` when the topic has another epoch (or none: Redis lost it),
        ``Gap("trimmed")`` when event ``after + 1`` exists but is no longer in the stream.
        """
        check_topic(topic)
        _check_int("after", after, 0)
        _check_int("limit", limit, 1)
        current, newest, entries = await self._call(
            "read", self._keys(topic), [epoch, f"{after + 1}-0", limit]
        )
        if current.decode() != epoch:
            raise Gap("epoch")
        if int(newest) <= after:
            return []
        events = [self._stored(entry) for entry in entries]
        # Redis starts a range below the oldest entry at the oldest entry, silently (§3.8).
        if not events or events[0].seq != after + 1:
            raise Gap("trimmed")
        return events

    @staticmethod
    def _stored(entry: list[Any]) -> StoredEvent:
        stream_id, fields = entry
        values = dict(zip(fields[::2], fields[1::2], strict=True))
        event = values.get(b"e", b"").decode()
        return StoredEvent(int(stream_id.split(b"-")[0]), event or None, values.get(b"d", b""))

    # Subscriptions -----------------------------------------------------------------------

    async def watch(self, topic: str) -> None:
        """SUBSCRIBE ``topic``'s channel; returns once Redis confirmed it.

        Raises :class:`BrokerUnavailable` when no confirmation came in ``command_timeout``
        seconds (Redis is down): the topic is then not watched.
        """
        check_topic(topic)
        self._require_started()
        handle = self._lingering.pop(topic, None)
        if handle is not None:
            handle.cancel()
        self._watched.add(topic)
        self._to_unsubscribe.discard(topic)
        if topic in self._subscribed:
            return
        confirmation = self._confirmations.get(topic)
        if confirmation is None:
            confirmation = asyncio.get_running_loop().create_future()
            self._confirmations[topic] = confirmation
            self._to_subscribe.add(topic)
            self._schedule_flush()
        try:
            await asyncio.wait_for(asyncio.shield(confirmation), self.command_timeout)
        except asyncio.TimeoutError:
            if self._confirmations.get(topic) is confirmation:
                del self._confirmations[topic]
            self._to_subscribe.discard(topic)
            self._watched.discard(topic)
            raise BrokerUnavailable(
                f"Redis at {_without_password(self.url)} did not confirm SUBSCRIBE of "
                f"{topic!r} in {self.command_timeout} s"
            ) from None

    async def unwatch(self, topic: str) -> None:
        """Stop delivering ``topic``; its channel is unsubscribed after ``unwatch_linger``."""
        check_topic(topic)
        if topic not in self._watched:
            return
        self._watched.discard(topic)
        if self.unwatch_linger == 0:
            self._release(topic)
        else:
            loop = asyncio.get_running_loop()
            self._lingering[topic] = loop.call_later(self.unwatch_linger, self._release, topic)

    def _release(self, topic: str) -> None:
        self._lingering.pop(topic, None)
        if topic in self._watched:
            return
        self._to_subscribe.discard(topic)
        if topic in self._subscribed:
            self._to_unsubscribe.add(topic)
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        """Send the SUBSCRIBEs and UNSUBSCRIBEs asked for since the last flush, batched."""
        await asyncio.sleep(0)  # let the watch() calls of this loop iteration join the batch
        while self._connection is not None:
            connection = self._connection
            subscribe = sorted(self._to_subscribe)[:SUBSCRIBE_BATCH]
            self._to_subscribe.difference_update(subscribe)
            self._to_unsubscribe -= self._watched
            unsubscribe = sorted(self._to_unsubscribe)[:SUBSCRIBE_BATCH]
            self._to_unsubscribe.difference_update(unsubscribe)
            if not subscribe and not unsubscribe:
                return
            # Forget them now: a watch() that comes before Redis answers must SUBSCRIBE again.
            self._subscribed.difference_update(unsubscribe)
            try:
                if subscribe:
                    await self._send(connection, "SUBSCRIBE", subscribe)
                if unsubscribe:
                    await self._send(connection, "UNSUBSCRIBE", unsubscribe)
            except _CONNECTION_LOST:
                return  # the reader sees the loss too and subscribes everything again

    async def _send(
        self, connection: redis.asyncio.Connection, command: str, topics: list[str]
    ) -> None:
        async with self._send_lock:
            await connection.send_command(
                command, *[self._channel(topic) for topic in topics], check_health=False
            )

    # The reader --------------------------------------------------------------------------

    async def _connect(self) -> redis.asyncio.Connection:
        assert self._subscriber_pool is not None
        connection: redis.asyncio.Connection = self._subscriber_pool.make_connection()  # type: ignore[no-untyped-call]
        try:
            await asyncio.wait_for(connection.connect(), self.command_timeout)  # type: ignore[no-untyped-call]
        except BaseException:
            await connection.disconnect(nowait=True)
            raise
        return connection

    async def _supervise(self, connection: redis.asyncio.Connection | None) -> None:
        """Read the subscribed connection for ever, reconnecting after every loss."""
        failures = 0
        lost = False
        while True:
            if connection is None:
                try:
                    connection = await self._connect()
                except _CONNECTION_LOST as exc:
                    delay = reconnect_delay(
                        failures, base=self.reconnect_base, cap=self.reconnect_cap
                    )
                    failures += 1
                    if delay >= self.reconnect_cap * 0.5:
                        logger.error(
                            "Redis at %s unreachable for %d attempts (%s); next in %.1f s",
                            _without_password(self.url), failures, exc, delay,
                        )  # fmt: skip
                    await asyncio.sleep(delay)
                    continue
                failures = 0
                self.reconnects += 1
                logger.warning("Redis at %s: reconnected", _without_password(self.url))
            try:
                await self._serve(connection, resync=lost)
            except _CONNECTION_LOST as exc:
                logger.warning(
                    "Redis at %s: subscribed connection lost (%s); reconnecting",
                    _without_password(self.url), exc,
                )  # fmt: skip
            except Exception:
                logger.exception("Redis reader failed; reconnecting")
            finally:
                self._connection = None
                await connection.disconnect(nowait=True)
            connection = None
            lost = True
            await asyncio.sleep(
                reconnect_delay(0, base=self.reconnect_base, cap=self.reconnect_cap)
            )

    async def _serve(self, connection: redis.asyncio.Connection, *, resync: bool) -> None:
        self._subscribed.clear()
        self._to_subscribe.clear()
        self._to_unsubscribe.clear()
        self._connection = connection
        unconfirmed = self._watched | set(self._confirmations)
        topics = sorted(unconfirmed)
        for start in range(0, len(topics), SUBSCRIBE_BATCH):
            await self._send(connection, "SUBSCRIBE", topics[start : start + SUBSCRIBE_BATCH])
        if resync and not unconfirmed:
            self._call_resync()
        loop = asyncio.get_running_loop()
        self._last_reply = loop.time()
        self._watchdog = loop.call_later(self.ping_interval, self._check_quiet, connection, None)
        try:
            await self._read_replies(connection, unconfirmed if resync else None)
        finally:
            self._watchdog.cancel()

    def _check_quiet(self, connection: redis.asyncio.Connection, pinged: float | None) -> None:
        """PING a connection quiet for ``ping_interval``; drop it if that gets no answer.

        A connection that died without a FIN (a vanished host) would otherwise read
        nothing for ever. A timer, not a timeout per read: a read costs no timer.
        """
        loop = asyncio.get_running_loop()
        now = loop.time()
        if pinged is not None and self._last_reply < pinged:
            logger.warning(
                "Redis at %s: no answer to PING in %.1f s; reconnecting",
                _without_password(self.url), self.ping_interval,
            )  # fmt: skip
            self._spawn(connection.disconnect(nowait=True))
            return
        quiet = now - self._last_reply
        if quiet < self.ping_interval:
            self._watchdog = loop.call_later(
                self.ping_interval - quiet, self._check_quiet, connection, None
            )
            return
        self._spawn(self._ping(connection))
        self._watchdog = loop.call_later(self.ping_interval, self._check_quiet, connection, now)

    async def _ping(self, connection: redis.asyncio.Connection) -> None:
        with contextlib.suppress(*_CONNECTION_LOST):  # the reader sees a loss too
            async with self._send_lock:
                await connection.send_command("PING", check_health=False)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    async def _read_replies(
        self, connection: redis.asyncio.Connection, unconfirmed: set[str] | None
    ) -> None:
        loop = asyncio.get_running_loop()
        handled = 0
        while True:
            reply = await connection.read_response(timeout=None)
            self._last_reply = loop.time()
            if isinstance(reply, list) and len(reply) == 3:
                kind, channel, body = reply
                if kind == b"message":
                    self._on_message(channel, body)
                elif kind == b"subscribe":
                    topic = self._topic_of(channel)
                    if topic is not None:
                        self._on_subscribed(topic)
                        if unconfirmed:
                            unconfirmed.discard(topic)
                            if not unconfirmed:
                                # Every channel is live again: what was published while it
                                # was not is in the streams, and the hub reads it from there.
                                self._call_resync()
            handled += 1
            if handled % YIELD_EVERY == 0:
                await asyncio.sleep(0)

    def _call_resync(self) -> None:
        assert self._resync is not None
        try:
            self._resync()
        except Exception:
            logger.exception("the broker's resync failed")

    def _on_subscribed(self, topic: str) -> None:
        self._subscribed.add(topic)
        confirmation = self._confirmations.pop(topic, None)
        if confirmation is not None and not confirmation.done():
            confirmation.set_result(None)
        if topic not in self._watched and topic not in self._lingering:
            self._to_unsubscribe.add(topic)  # a watch() that gave up while Redis was away
            self._schedule_flush()

    def _on_message(self, channel: object, payload: object) -> None:
        topic = self._topic_of(channel)
        if topic is None or topic not in self._watched:
            return
        message = parse_message(payload) if isinstance(payload, bytes) else None
        if message is None:
            self.dropped_messages += 1
            logger.warning("dropped a malformed message on %r", channel)
            return
        epoch, seq, event, data = message
        assert self._deliver is not None
        try:
            self._deliver(topic, epoch, seq, event, data)
        except Exception:
            logger.exception("the broker failed to take an event of %r", topic)
