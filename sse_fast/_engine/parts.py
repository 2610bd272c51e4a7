"""What both runners share: waiting for the client to leave, and the background task."""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .stream import EventStream

__all__ = [
    "Listener",
    "Parts",
    "Pump",
    "Receive",
    "WaitDisconnect",
    "taken_back",
    "wait_disconnect_of",
]

Pump = Callable[[], Awaitable[None]]
WaitDisconnect = Callable[[], Awaitable[object]]
Receive = Callable[[], Awaitable[Any]]  # an ASGI receive
LISTENER_NAME = "sse_fast: waiting for the client to leave"  # one name: no number per task


def is_disconnect_message(message: Any) -> bool:
    return bool(message.get("type") == "http.disconnect")


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

    __slots__ = ()

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


class Listener:
    """On asyncio, the client's departure heard without a coroutine of ours."""

    if not TYPE_CHECKING:  # AsyncioRunner declares the slots
        __slots__ = ()

    stream: EventStream
    loop: asyncio.AbstractEventLoop
    context: contextvars.Context
    listener: asyncio.Future[Any] | None
    receive: Receive | None

    def listen(self, receive: Receive, *, again: bool = False) -> None:
        """Wait for the client to leave with a task made straight on an ASGI ``receive()``
        (no coroutine of ours per idle stream): its callback re-issues it (``again``)
        until the message is ``http.disconnect``."""
        self.receive = receive
        received = receive()
        # Again, the callback runs in our context already: a task given that entered
        # context cannot start in it (an eager task factory starts it at once).
        if not asyncio.iscoroutine(received):
            task = asyncio.ensure_future(received, loop=self.loop)
        elif again or sys.version_info < (3, 11):
            task = self.loop.create_task(received, name=LISTENER_NAME)
        else:
            task = self.loop.create_task(received, name=LISTENER_NAME, context=self.context)
        self.listener = task
        task.add_done_callback(self._heard, context=self.context)

    def _heard(self, task: asyncio.Future[Any]) -> None:
        if task.cancelled():
            return
        stream, error = self.stream, task.exception()
        if error is not None:
            stream.fail(error)
        elif is_disconnect_message(message := task.result()):
            stream.disconnect_message = message
            stream.client_left()
        elif not stream.stopping and self.receive is not None:
            self.listen(self.receive, again=True)
