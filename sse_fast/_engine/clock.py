"""When a connection must wake up: pure arithmetic over a given ``now``, no I/O.

One timer per connection is armed for :meth:`Clock.next_check`, which is only what is
pending: the next ping (when pings are on), the end of the send in flight (when a send
timeout is set and a send is under way), the end of the grace period (once shutting
down), the cut-off of a stalled end of the body (once the client left during it).
An idle connection with pings off and no send in flight has no timer at all.
"""

from __future__ import annotations

import enum
import math

__all__ = ["Clock", "Due"]


class Due(enum.Flag):
    """What :meth:`Clock.check` found due."""

    NOTHING = 0
    PING = enum.auto()
    SEND_TIMEOUT = enum.auto()
    GRACE_OVER = enum.auto()
    END_STALLED = enum.auto()


class Clock:
    """The deadlines of one connection.

    A timer that fires much later than it was armed for means the event loop was
    blocked (a handler did synchronous work), not that the client stalled: the send in
    flight is then timed again from ``now``, so a healthy client is not cut off. A
    timer counts as late when it fires :data:`LATE_FRACTION` of the send timeout (or
    :data:`LATE_MIN` seconds, if more) after its time.
    """

    LATE_FRACTION = 0.25
    LATE_MIN = 0.05
    # A departure heard while the body's end is being sent: some servers (hypercorn)
    # report their own end of the body that way, from inside the send, which then
    # returns at once; a send still stalled this long after is cut off.
    END_GRACE = 0.25

    __slots__ = (
        "end_deadline",
        "grace_deadline",
        "next_ping",
        "ping_idle_only",
        "ping_interval",
        "send_started",
        "send_timeout",
        "writes",
        "writes_at_last_ping",
    )

    def __init__(
        self,
        ping_interval: float | None,
        send_timeout: float | None,
        *,
        ping_idle_only: bool = False,
    ) -> None:
        self.ping_interval = ping_interval
        self.send_timeout = send_timeout
        self.ping_idle_only = ping_idle_only
        self.next_ping = math.inf
        self.send_started: float | None = None
        self.grace_deadline: float | None = None
        self.end_deadline: float | None = None
        self.writes = 0  # writes that carried events (for idle-only pings)
        self.writes_at_last_ping = 0

    def start(self, now: float) -> None:
        """The stream starts at ``now``: the first ping is one interval away."""
        if self.ping_interval is not None:
            self.next_ping = now + self.ping_interval

    def begin_grace(self, now: float, grace: float) -> None:
        """Shutdown began at ``now``: the source has ``grace`` seconds to finish."""
        if self.grace_deadline is None:
            self.grace_deadline = now + grace

    def left_during_end(self, now: float) -> None:
        """The client left at ``now`` while the end of the body was being sent."""
        if self.end_deadline is None:
            self.end_deadline = now + self.END_GRACE

    def next_check(self) -> float:
        """When to look again (``inf``: nothing pending, no timer)."""
        check = self.next_ping
        if self.send_started is not None and self.send_timeout is not None:
            check = min(check, self.send_started + self.send_timeout)
        if self.grace_deadline is not None:
            check = min(check, self.grace_deadline)
        if self.end_deadline is not None:
            check = min(check, self.end_deadline)
        return check

    def check(self, now: float, armed_for: float) -> Due:
        """What is due at ``now``, for a timer that was armed for ``armed_for``."""
        due = Due.NOTHING
        if self.grace_deadline is not None and now >= self.grace_deadline:
            due |= Due.GRACE_OVER
        if self.end_deadline is not None and now >= self.end_deadline:
            self.end_deadline = None
            due |= Due.END_STALLED
        started = self.send_started
        if started is not None and self.send_timeout is not None:
            late = now - armed_for
            if late > max(self.LATE_MIN, self.LATE_FRACTION * self.send_timeout):
                self.send_started = now  # the loop was blocked: time the send afresh
            elif now >= started + self.send_timeout:
                due |= Due.SEND_TIMEOUT
        if now >= self.next_ping:
            interval = self.ping_interval
            assert interval is not None
            # After a long block, one ping, then the normal rhythm from now.
            self.next_ping = max(self.next_ping + interval, now + interval / 2)
            if not (self.ping_idle_only and self.writes != self.writes_at_last_ping):
                due |= Due.PING
            self.writes_at_last_ping = self.writes
        return due
