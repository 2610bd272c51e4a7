"""How a stream ended, and the error of a client that stopped reading."""

from __future__ import annotations

import enum

__all__ = ["Outcome", "SendTimeoutError"]


class SendTimeoutError(TimeoutError):
    """A send did not complete within ``send_timeout``: the client stopped reading."""


class Outcome(enum.Enum):
    """How a stream ended (returned by :meth:`EventStream.run`)."""

    COMPLETED = "completed"  # the source was exhausted
    DISCONNECTED = "disconnected"  # the client left
    SHUTDOWN = "shutdown"  # the server is going away
