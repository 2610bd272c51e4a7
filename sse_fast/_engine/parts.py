"""What both runners share: waiting for the client to leave, and the background task."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .stream import EventStream

__all__ = ["Parts", "Pump", "Receive", "WaitDisconnect", "taken_back", "wait_disconnect_of"]

Pump = Callable[[], Awaitable[None]]
WaitDisconnect = Callable[[], Awaitable[object]]
Receive = Callable[[], Awaitable[Any]]  # an ASGI receive


def is_disconnect_message(message: Any) -> bool:
    return message.get("type") == "http.disconnect"


def wait_disconnect_of(receive: Receive) -> WaitDisconnect:
    """A ``wait_disconnect()`` that returns the ASGI ``http.disconnect`` message."""

    async def wait_disconnect() -> object:
        while True:
            message = await receive()
            if is_disconnect_message(message):
                return message

    return wait_disconnect


def taken_back(task: asyncio.Task[Any] | None, ours: bool) -> bool:
    """Whether ``task``'s cancellation was the stream's ``stop()`` alone (``ours``: stop()
    said so by clearing its mark), and is now taken back (``uncancel()``, Python >= 3.11)
    so the task goes on. False: someone else cancelled it too, and it must propagate."""
    if not ours:
        return False
    uncancel = getattr(task, "uncancel", None)
    return uncancel is None or uncancel() == 0


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
