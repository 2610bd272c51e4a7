"""What both runners share: waiting for the client to leave, and the background task."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .outcome import Outcome

if TYPE_CHECKING:
    from .stream import EventStream

__all__ = ["Parts", "Pump", "WaitDisconnect"]

Pump = Callable[[], Awaitable[None]]
WaitDisconnect = Callable[[], Awaitable[object]]


class Parts:
    """What both runners share: the disconnect watcher and the background task."""

    stream: EventStream

    async def watch(self, wait_disconnect: WaitDisconnect) -> None:
        stream = self.stream
        try:
            message = await wait_disconnect()
        except Exception as exc:
            stream.fail(exc)
            return
        stream.disconnect_message = message
        if stream.ending:  # our own end of the body, which must not be interrupted
            return
        if stream.outcome is None:
            stream.outcome = Outcome.DISCONNECTED
        stream.stop()

    async def run_background(self, background: Callable[[], Awaitable[object]]) -> None:
        try:
            await background()
        except Exception as exc:
            self.stream.fail(exc)
