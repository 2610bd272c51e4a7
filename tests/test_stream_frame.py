"""EventStream(frame=...): a stream that frames every item of its source itself (the
FastAPI adapter's path operations), on an in-memory transport."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Any

import anyio
import pytest
from test_stream import Transport, run

import sse_fast
from sse_fast.broadcast import Broker
from sse_fast.stream import EventStream, Outcome

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def as_json(item: Any) -> bytes:
    """A framing unlike the engine's own: str is JSON-encoded too."""
    if item == "bad":
        raise ValueError("cannot frame 'bad'")
    if isinstance(item, bytes):
        item = item.decode()
    return b"data: %s\n\n" % json.dumps(item).encode()


async def test_every_item_str_included_goes_through_frame() -> None:
    async def items() -> AsyncIterator[Any]:
        yield "hi"  # the first item after a pause: the engine's own str path is not taken
        yield {"a": 1}
        await anyio.sleep(0.01)
        yield "again"
        yield b"raw"

    outcome, transport = await run(items(), frame=as_json)
    assert outcome is Outcome.COMPLETED
    assert transport.body == b'data: "hi"\n\ndata: {"a": 1}\n\ndata: "again"\n\ndata: "raw"\n\n'


async def test_a_sync_iterable_and_a_list_are_framed_too() -> None:
    def items() -> Iterator[str]:
        yield "x"
        yield "y"

    _, from_generator = await run(items(), frame=as_json)
    _, from_list = await run(["x", "y"], frame=as_json)
    assert from_generator.body == from_list.body == b'data: "x"\n\ndata: "y"\n\n'


async def test_a_frame_that_raises_ends_the_stream_after_what_came_before() -> None:
    closed = anyio.Event()

    async def items() -> AsyncIterator[str]:
        try:
            yield "good"
            yield "bad"
            yield "never"
        finally:
            closed.set()

    transport = Transport()
    with pytest.raises(ValueError, match="cannot frame 'bad'"):
        await run(items(), transport, frame=as_json)
    assert closed.is_set()  # the source's finally ran before run() raised
    assert transport.body == b'data: "good"\n\n'


@pytest.mark.parametrize("frame", [as_json, None], ids=["frame", "engine"])
async def test_a_list_with_a_bad_item_sends_what_came_before_it(frame: Any) -> None:
    """A list is no generator, but the same holds: what came before the bad item is
    sent, then run() raises."""
    items: list[Any] = ["good", "bad" if frame else object()]
    transport = Transport()
    with pytest.raises((ValueError, TypeError)):
        await run(items, transport, frame=frame)
    assert transport.body == (b'data: "good"\n\n' if frame else b"data: good\n\n")


async def test_the_source_closes_when_the_client_leaves() -> None:
    closed = anyio.Event()

    async def items() -> AsyncIterator[str]:
        try:
            yield "one"
            await anyio.sleep_forever()
        finally:
            closed.set()

    transport = Transport()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(partial(run, items(), transport, frame=as_json))
        with anyio.fail_after(5):
            while not transport.writes:
                await anyio.sleep(0.01)
        transport.left.set()
        with anyio.fail_after(5):
            await closed.wait()
    assert transport.body == b'data: "one"\n\n'


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_frame_is_refused_for_sources_whose_items_skip_the_batch() -> None:
    with pytest.raises(TypeError, match="the stream pulls, not for EventQueue"):
        EventStream(sse_fast.EventQueue(), frame=as_json)
    async with Broker() as broker, broker.subscribe("topic") as subscription:
        with pytest.raises(TypeError, match="not for Subscription"):
            EventStream(subscription, frame=as_json)
