"""When to reconnect: the browser's rule plus backoff, as pure functions of the time.

Nothing here reads a clock or sleeps; the event sources pass ``now`` in and wait
until the time returned, so tests drive every schedule with a fake clock.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from dataclasses import dataclass, field

from ._event import Reconnecting

__all__ = ["Backoff", "Reconnection"]


@dataclass(frozen=True)
class Backoff:
    """The wait before each reconnection.

    After a stream that ended normally the wait is the reconnection time (the stream's
    ``retry``, else the client's default), as in browsers. After ``n`` failures in a
    row (no connection, an HTTP connection lost, no byte within the idle timeout) it
    is the reconnection time times ``multiplier ** (n - 1)``, at most ``max_delay``
    seconds (never less than the reconnection time), plus up to ``jitter`` times
    itself at random, so clients dropped together do not return together. A stream
    that opens resets the count.
    """

    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.max_delay >= 0:
            raise ValueError(f"max_delay must be >= 0 seconds, got {self.max_delay!r}")
        if not self.multiplier >= 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier!r}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be between 0 and 1, got {self.jitter!r}")

    def delay(self, retry: float, failures: int) -> float:
        """Seconds to wait after ``failures`` failed connections in a row, given the
        reconnection time ``retry`` in seconds."""
        if failures <= 0:
            return retry
        grown = retry * self.multiplier ** min(failures - 1, 64)
        base = min(grown, max(self.max_delay, retry))
        return base * (1 + self.jitter * self.random())


class Reconnection:
    """The count of reconnections and of failures in a row, and the next wait."""

    def __init__(self, backoff: Backoff, max_reconnects: int | None) -> None:
        self.backoff = backoff
        self.max_reconnects = max_reconnects
        self.reconnects = 0
        self.failures = 0

    def opened(self) -> None:
        """A response with an event stream arrived: the next failure is the first."""
        self.failures = 0

    def next(
        self,
        now: float,
        *,
        retry_ms: int,
        reason: str,
        error: BaseException | None,
        last_event_id: str,
    ) -> tuple[float, Reconnecting] | None:
        """After a connection ended (``error`` None: the body ended), the time to
        reconnect at and what to report; None when ``max_reconnects`` is used up."""
        if error is not None:
            self.failures += 1
        if self.max_reconnects is not None and self.reconnects >= self.max_reconnects:
            return None
        self.reconnects += 1
        delay = self.backoff.delay(retry_ms / 1000, self.failures)
        return now + delay, Reconnecting(self.reconnects, delay, reason, error, last_event_id)
