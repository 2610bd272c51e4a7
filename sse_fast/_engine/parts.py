"""What both runners share: waiting for the client to leave, and the background task."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

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
        stream.client_left()

    async def run_background(self, background: Callable[[], Awaitable[object]]) -> None:
        try:
            await background()
        except Exception as exc:
            self.stream.fail(exc)
