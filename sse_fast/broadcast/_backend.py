"""What the broker's hub needs from a backend, and the pieces every backend shares.

A backend stores each topic's recent history and delivers new events live to every
process that watches the topic. The hub (one per process, in ``_hub.py``) keeps a ring
per watched topic and serves every local subscriber from it; a backend never does work
per subscriber.

Positions are ``(epoch, seq)``: ``seq`` counts a topic's events densely from 1, and the
``epoch`` names one unbroken life of that count (8 lowercase hex digits). When a backend
loses a topic's history (a restarted Redis, an evicted topic) the topic starts a new
epoch, so an old cursor can be told apart from a new one. On the wire an event id is
``"<epoch>.<seq>"``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Literal, NamedTuple, Protocol

__all__ = [
    "Backend",
    "BrokerUnavailable",
    "Deliver",
    "Gap",
    "Position",
    "ResetReason",
    "StoredEvent",
    "check_topic",
    "format_id",
    "new_epoch",
    "parse_id",
]

ResetReason = Literal["trimmed", "epoch", "invalid_id", "too_far", "lagged"]

MAX_TOPIC_LENGTH = 200
MAX_ID_LENGTH = 64
_TOPIC = re.compile(rf"[A-Za-z0-9._:/-]{{1,{MAX_TOPIC_LENGTH}}}")
_ID = re.compile(r"([0-9a-f]{8})\.([0-9]{1,19})")


class BrokerUnavailable(ConnectionError):
    """The backend cannot be reached (Redis is down): the event was not published."""


class TooManySubscribers(Exception):
    """This process already has ``max_subscribers`` open subscriptions: one more was refused.

    The web helpers answer it with 503 before any SSE byte; the client retries later (a
    browser's ``EventSource`` gives up on a 503, so pages that want a retry handle
    ``error`` themselves).
    """


class Gap(Exception):
    """The history asked for is no longer complete; ``reason`` says why."""

    def __init__(self, reason: ResetReason) -> None:
        super().__init__(reason)
        self.reason: ResetReason = reason


class Position(NamedTuple):
    epoch: str
    seq: int  # the newest event's seq; 0 when the topic has none yet


class StoredEvent(NamedTuple):
    seq: int
    event: str | None
    data: bytes


# deliver(topic, epoch, seq, event, data): a live event, in the backend's order.
Deliver = Callable[[str, str, int, str | None, bytes], None]


class Backend(Protocol):
    """The storage and transport under a :class:`~sse_fast.broadcast.Broker`."""

    async def start(self, deliver: Deliver, resync: Callable[[], None]) -> None:
        """Begin delivering live events of watched topics to ``deliver``.

        ``resync()`` is called after the live feed was interrupted and restored (a
        reconnect to Redis): the hub then reads every ring's missing events with
        :meth:`read`, because some may have been published while the feed was down.
        """

    async def close(self) -> None:
        """Stop delivering and release every connection and task."""

    async def publish(self, topic: str, event: str | None, data: bytes) -> Position:
        """Store and deliver one event; return its position.

        Raises :class:`BrokerUnavailable` when the event could not be stored.
        """

    async def watch(self, topic: str) -> None:
        """Deliver ``topic``'s live events from now on; returns once that is in force."""

    async def unwatch(self, topic: str) -> None:
        """Stop delivering ``topic``'s live events (the last local subscriber left)."""

    async def head(self, topic: str) -> Position:
        """The topic's current epoch and newest seq (a new topic gets its epoch here)."""

    async def read(self, topic: str, epoch: str, after: int, limit: int) -> list[StoredEvent]:
        """Events with ``seq > after`` (at most ``limit``, oldest first) of ``epoch``.

        Raises :class:`Gap` when they cannot all be given: ``"epoch"`` when the topic's
        epoch is no longer ``epoch``, ``"trimmed"`` when the oldest wanted event is
        gone from the history.
        """


def new_epoch() -> str:
    return secrets.token_hex(4)


def format_id(epoch: str, seq: int) -> str:
    return f"{epoch}.{seq}"


def parse_id(text: str) -> tuple[str, int] | None:
    """``(epoch, seq)`` of a well-formed id, ``None`` for anything else."""
    if len(text) > MAX_ID_LENGTH:
        return None
    match = _ID.fullmatch(text)
    if match is None:
        return None
    return match[1], int(match[2])


def check_topic(topic: object) -> str:
    """``topic`` if it is a valid topic name, else a ``TypeError``/``ValueError``.

    Topics become Redis keys and channels: 1 to 200 characters from ``A-Z a-z 0-9 . _
    : / -``, so no hash tags, patterns, spaces or control characters.
    """
    if not isinstance(topic, str):
        raise TypeError(f"topic must be str, not {type(topic).__name__}")
    if _TOPIC.fullmatch(topic) is None:
        raise ValueError(
            f"topic must be 1 to {MAX_TOPIC_LENGTH} characters from A-Z a-z 0-9 . _ : / -: "
            f"{topic[:80]!r}"
        )
    return topic
