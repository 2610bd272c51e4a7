"""What the client yields and raises: ``Event``, ``EventStreamError``, ``Reconnecting``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = ["Event", "EventStreamError", "Reconnecting"]

ERROR_BODY_LIMIT = 1024  # bytes of an error response's body kept on EventStreamError


class Event(NamedTuple):
    """One event as received: exactly what the decoder dispatches.

    ``event`` is the type (``"message"`` when the stream gave none), ``data`` the
    data lines joined with LF, ``id`` the last event ID when the event was
    dispatched (``""`` before any). A decoded event never has a ``retry`` or a
    comment: those change the connection, not the event.
    """

    data: str
    event: str = "message"
    id: str = ""

    def json(self) -> Any:
        """``data`` parsed as JSON; ``json.JSONDecodeError`` (a ``ValueError``) names
        the event and quotes the start of its data when it is not JSON."""
        try:
            return json.loads(self.data)
        except json.JSONDecodeError as exc:
            shown = self.data if len(self.data) <= 80 else self.data[:80] + "..."
            raise json.JSONDecodeError(
                f"data of event {self.event!r} (id {self.id!r}) is not JSON: {exc.msg} "
                f"in {shown!r}",
                exc.doc,
                exc.pos,
            ) from None


class EventStreamError(Exception):
    """The server answered, but not with an event stream: a status other than 200
    (and 204, which only ends the stream), or a Content-Type other than
    ``text/event-stream``. Browsers do not reconnect after this, and neither does
    the client.

    ``status`` and ``headers`` are the response's; ``body`` holds the first KiB of
    its body (a 401's reason, a 422's detail), ``text`` the same decoded as UTF-8;
    ``response`` is the HTTP library's response object (closed).
    """

    def __init__(
        self, message: str, *, status: int, headers: Mapping[str, str], body: bytes, response: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers
        self.body = body
        self.response = response

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True)
class Reconnecting:
    """Given to ``on_reconnect`` (and logged) before the client waits to reconnect.

    ``attempt`` counts reconnections from 1; ``delay`` is the wait in seconds;
    ``reason`` says why in words; ``error`` is the exception that ended the last
    connection (None when the body simply ended); ``last_event_id`` is what the next
    request sends as ``Last-Event-ID``.
    """

    attempt: int
    delay: float
    reason: str
    error: BaseException | None
    last_event_id: str

    def __str__(self) -> str:
        return f"{self.reason}; reconnecting in {self.delay:.1f} s (attempt {self.attempt})"
