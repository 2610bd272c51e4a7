"""What an idle stream holds, and the ASGI ``receive()`` read until the client leaves.

Thousands of streams idle at once per process: on asyncio the engine's share of one is a
single coroutine frame (beside its source's) and the task reading ``receive()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from test_stream import Transport

from sse_fast.stream import EventStream, Outcome, Shutdown

pytestmark = pytest.mark.anyio

DISCONNECT = {"type": "http.disconnect"}
REQUEST = {"type": "http.request", "body": b"", "more_body": False}


async def one_then_idle() -> AsyncIterator[str]:
    yield "first"
    await anyio.sleep_forever()


class Receiver:
    """An ASGI ``receive()``: the request, ``extra`` more messages, then (once ``leave()``
    is called) ``http.disconnect``, or the ``error`` given."""

    def __init__(self, extra: int = 0, error: BaseException | None = None) -> None:
        self.messages = [REQUEST] * (1 + extra)
        self.left = anyio.Event()
        self.error = error
        self.calls = 0

    async def receive(self) -> dict[str, Any]:
        self.calls += 1
        if self.messages:
            return self.messages.pop()
        await self.left.wait()
        if self.error is not None:
            raise self.error
        return DISCONNECT


async def wait_for_first_write(transport: Transport) -> None:
    with anyio.fail_after(5):
        while not transport.writes:
            await anyio.sleep(0.001)


def engine_frames(coroutine: Any) -> list[str]:
    """The names of the engine's code objects on the awaiting chain from ``coroutine``."""
    names = []
    while coroutine is not None:
        code = getattr(coroutine, "cr_code", None) or getattr(coroutine, "gi_code", None)
        if code is not None and "sse_fast" in code.co_filename:
            names.append(code.co_name)
        coroutine = getattr(coroutine, "cr_await", None) or getattr(coroutine, "gi_yieldfrom", None)
    return names


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_idle_asyncio_stream_is_one_coroutine_and_a_task_on_receive() -> None:
    transport, receiver = Transport(), Receiver()
    stream = EventStream(one_then_idle(), ping=0, shutdown=Shutdown())
    before = asyncio.all_tasks()
    running = asyncio.ensure_future(stream.run(transport.send, receive=receiver.receive))
    await wait_for_first_write(transport)

    assert engine_frames(running.get_coro()) == ["run", "_pull"]
    (listener,) = asyncio.all_tasks() - before - {running}
    coroutine: Any = listener.get_coro()
    assert coroutine.cr_code is Receiver.receive.__code__  # no coroutine of ours

    receiver.left.set()
    with anyio.fail_after(5):
        assert await running is Outcome.DISCONNECTED


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_idle_stream_holds_no_finished_task_after_its_pings() -> None:
    """Pings are written by a short-lived task: once it has written, the stream lets go
    of it (and of its coroutine) instead of holding it until the next ping."""
    transport, receiver = Transport(), Receiver()
    stream = EventStream(one_then_idle(), ping=0.01, shutdown=Shutdown())
    running = asyncio.ensure_future(stream.run(transport.send, receive=receiver.receive))
    with anyio.fail_after(5):
        while transport.writes.count(b": ping\n\n") < 2:
            await anyio.sleep(0.001)
    await asyncio.sleep(0)  # the ping's task has returned
    runner: Any = stream.runner
    assert runner.flusher is None or not runner.flusher.done()
    receiver.left.set()
    with anyio.fail_after(5):
        assert await running is Outcome.DISCONNECTED


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_receive_is_read_past_other_messages_until_the_client_leaves() -> None:
    transport, receiver = Transport(), Receiver(extra=2)
    heard: list[object] = []

    async def on_disconnect(message: object) -> None:
        heard.append(message)

    stream = EventStream(one_then_idle(), ping=0, shutdown=Shutdown(), on_disconnect=on_disconnect)
    async with anyio.create_task_group() as group:

        async def run() -> None:
            assert await stream.run(transport.send, receive=receiver.receive) is (
                Outcome.DISCONNECTED
            )

        group.start_soon(run)
        await wait_for_first_write(transport)
        with anyio.fail_after(5):
            while receiver.calls < 4:  # the request, two more, and the one that waits
                await anyio.sleep(0.001)
        assert not stream.stopping
        receiver.left.set()
    assert heard == [DISCONNECT]
    assert transport.writes == [b"data: first\n\n"]


def entering_task_factory(loop: Any, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    """Starts nothing early, but fails as an eager task would when the context it is
    given is entered already (asyncio.eager_task_factory, Python >= 3.12)."""
    context = kwargs.get("context")
    if context is not None:
        context.run(lambda: None)
    return asyncio.Task(coro, loop=loop, **kwargs)


FACTORIES = [entering_task_factory]
if hasattr(asyncio, "eager_task_factory"):
    FACTORIES.append(asyncio.eager_task_factory)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("factory", FACTORIES, ids=lambda factory: factory.__name__)
async def test_receive_is_read_again_under_an_eager_task_factory(factory: Any) -> None:
    """A GET's first receive() is its (empty) request: the listener issues receive()
    again from its callback, which must not hand the task a context already entered."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda loop, context: errors.append(context))
    loop.set_task_factory(factory)
    try:
        transport, receiver = Transport(), Receiver(extra=1)
        stream = EventStream(one_then_idle(), ping=0, shutdown=Shutdown())
        running = asyncio.ensure_future(stream.run(transport.send, receive=receiver.receive))
        await wait_for_first_write(transport)
        with anyio.fail_after(5):
            while receiver.calls < 3:  # the request, one more, and the one that waits
                await asyncio.sleep(0.001)
        receiver.left.set()
        with anyio.fail_after(5):
            assert await running is Outcome.DISCONNECTED
    finally:
        loop.set_task_factory(None)
        loop.set_exception_handler(None)
    assert errors == []


async def test_a_failing_receive_fails_the_stream() -> None:
    error = RuntimeError("the server's receive() broke")
    transport, receiver = Transport(), Receiver(error=error)
    stream = EventStream(one_then_idle(), ping=0, shutdown=Shutdown())
    raised: list[BaseException] = []

    async def run() -> None:
        try:
            await stream.run(transport.send, receive=receiver.receive)
        except RuntimeError as exc:
            raised.append(exc)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(run)
            await wait_for_first_write(transport)
            receiver.left.set()
    assert raised == [error]
