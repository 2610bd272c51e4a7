"""What a subscription yields: :class:`Event` and :class:`Reset`, each framed once.

The streaming engine writes an item whose type has ``__sse_frame__(sep)`` as the bytes
it returns. Both types cache those bytes per separator, so an event published to ten
thousand subscribers is framed once, and every connection gets the same bytes object.
"""

from __future__ import annotations

import json

from sse_fast import encode

from ._backend import ResetReason

__all__ = ["DEFAULT_RESET_EVENT", "Event", "Reset"]

DEFAULT_RESET_EVENT = "sse_fast.reset"


class Event:
    """One published event: its id ``"<epoch>.<seq>"``, topic, event name and data."""

    __slots__ = ("_frames", "data", "event", "id", "topic")

    id: str
    topic: str
    event: str | None
    data: str

    def __init__(self, id: str, topic: str, event: str | None, data: str) -> None:
        self.id = id
        self.topic = topic
        self.event = event
        self.data = data
        self._frames: dict[str, bytes] = {}

    def __sse_frame__(self, sep: str) -> bytes:
        """The event on the wire (``id``, ``event``, ``data`` lines), framed once per ``sep``."""
        frame = self._frames.get(sep)
        if frame is None:
            frame = self._frames[sep] = encode(self.data, event=self.event, id=self.id, sep=sep)
        return frame

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (self.id, self.topic, self.event, self.data) == (
            other.id,
            other.topic,
            other.event,
            other.data,
        )

    def __hash__(self) -> int:
        return hash((self.id, self.topic, self.event, self.data))

    def __repr__(self) -> str:
        return (
            f"Event(id={self.id!r}, topic={self.topic!r}, event={self.event!r}, data={self.data!r})"
        )


class Reset:
    """The history asked for is not all there: the client should refetch its state.

    ``id`` is the topic's real head, so a client that reconnects with it resumes from
    there instead of being reset again; ``reason`` is one of ``"trimmed"``, ``"epoch"``,
    ``"invalid_id"``, ``"too_far"`` and ``"lagged"``. On the wire it is one event named
    ``event`` (the broker's ``reset_event``) with data ``{"reason": "<reason>"}``.
    """

    __slots__ = ("_frames", "event", "id", "reason")

    id: str
    reason: ResetReason
    event: str

    def __init__(self, id: str, reason: ResetReason, event: str = DEFAULT_RESET_EVENT) -> None:
        self.id = id
        self.reason = reason
        self.event = event
        self._frames: dict[str, bytes] = {}

    def __sse_frame__(self, sep: str) -> bytes:
        """The reset on the wire: ``event: <event>``, ``id: <head>``, ``data: {"reason": ...}``."""
        frame = self._frames.get(sep)
        if frame is None:
            data = json.dumps({"reason": self.reason})
            frame = self._frames[sep] = encode(data, event=self.event, id=self.id, sep=sep)
        return frame

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Reset):
            return NotImplemented
        return (self.id, self.reason, self.event) == (other.id, other.reason, other.event)

    def __hash__(self) -> int:
        return hash((self.id, self.reason, self.event))

    def __repr__(self) -> str:
        return f"Reset(id={self.id!r}, reason={self.reason!r})"
