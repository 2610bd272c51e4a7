"""The aiohttp adapter's API, in process: an aiohttp server on a free port, raw clients.

The wire behaviour under a separate server process, with both twins, is in
test_aiohttp_server.py.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from servers import RawClient

import sse_fast
from sse_fast.adapters.aiohttp import (
    EventSourceResponse,
    SendTimeoutError,
    setup,
    sse_response,
    stream,
)

pytestmark = pytest.mark.anyio

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Running:
    def __init__(self, runner: web.AppRunner, port: int) -> None:
        self.runner = runner
        self.port = port

    async def get(self, path: str = "/") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await reader.readuntil(b"\r\n\r\n")
        return reader, writer


async def serve(handler: Handler, **runner_options: Any) -> Running:
    app = web.Application()
    setup(app)
    app.router.add_route("*", "/", handler)
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return Running(runner, runner.addresses[0][1])


async def read_body(reader: asyncio.StreamReader) -> bytes:
    """The de-chunked body, to its end."""
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n"))[:-2], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return body
        body += chunk[:-2]


async def body_of(handler: Handler) -> bytes:
    """Serve ``handler``, make one request and read the whole body; then shut down."""
    server = await serve(handler)
    try:
        reader, writer = await server.get()
        body = await read_body(reader)
        writer.close()
    finally:
        await server.runner.cleanup()
    return body


async def test_a_normal_end_raises_nothing_and_writes_every_event() -> None:
    raised: list[BaseException | None] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            async with sse_response(request) as resp:
                for n in range(1000):
                    await resp.send(str(n))
        except BaseException as exc:
            raised.append(exc)
            raise
        raised.append(None)
        return resp

    body = await body_of(handler)
    assert raised == [None]
    assert body == b"".join(sse_fast.encode(str(n), sep="\r\n") for n in range(1000))


async def test_wait_reraises_the_callers_cancellation_and_the_stream_lives_on() -> None:
    outcome: dict[str, Any] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        async with sse_response(request) as resp:
            waiter = asyncio.create_task(resp.wait())
            await asyncio.sleep(0.05)
            waiter.cancel()
            try:
                await waiter
            except asyncio.CancelledError:
                outcome["cancelled"] = True
            outcome["connected"] = resp.is_connected()
            await resp.send("still here")
        return resp

    body = await body_of(handler)
    assert outcome == {"cancelled": True, "connected": True}
    assert body == b"data: still here\r\n\r\n"


async def test_is_connected_follows_the_stream() -> None:
    states: list[bool] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = EventSourceResponse()
        states.append(resp.is_connected())
        await resp.prepare(request)
        states.append(resp.is_connected())
        resp.stop_streaming()
        states.append(resp.is_connected())
        await resp.wait()
        return resp

    assert await body_of(handler) == b""
    assert states == [False, True, False]


async def test_send_after_the_client_left_raises_connection_reset() -> None:
    raised: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def handler(request: web.Request) -> web.StreamResponse:
        async with sse_response(request) as resp:
            try:
                while True:
                    await resp.send("tick")
                    await asyncio.sleep(0.02)
            except ConnectionResetError as exc:
                raised.set_result(exc)
        return resp

    server = await serve(handler)
    try:
        reader, writer = await server.get()
        await reader.readuntil(b"tick")
        writer.close()
        exc = await asyncio.wait_for(raised, 2)
    finally:
        await server.runner.cleanup()
    assert isinstance(exc, ConnectionResetError)


async def test_handler_cancellation_cancels_the_handler_and_the_stream() -> None:
    cancelled = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            async with sse_response(request) as resp:
                await resp.send("ready")
                await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return resp

    server = await serve(handler, handler_cancellation=True)
    try:
        reader, writer = await server.get()
        await reader.readuntil(b"ready")
        writer.close()
        await asyncio.wait_for(cancelled.wait(), 2)
    finally:
        await server.runner.cleanup()


def test_a_finished_event_loop_is_not_kept_alive_by_its_streams() -> None:
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        async with sse_response(request) as resp:
            await resp.send("ready")
            await resp.wait()  # until the client leaves
        return resp

    async def one_stream() -> None:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        server = await serve(handler)
        try:
            reader, writer = await server.get()
            await reader.readuntil(b"ready")
            writer.close()
            await asyncio.sleep(0.3)
        finally:
            await server.runner.cleanup()

    asyncio.run(one_stream())
    gc.collect()
    assert loops[0]() is None


async def test_clients_leaving_a_fast_send_loop_log_no_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clients = 30
    finished: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            async with sse_response(request) as resp:
                while resp.is_connected():
                    await resp.send("tick")
                    await asyncio.sleep(0.01)
        finally:
            finished.append("done")
        return resp

    server = await serve(handler)
    try:
        for _ in range(clients):
            reader, writer = await server.get()
            await reader.readuntil(b"tick")
            await asyncio.sleep(0.005)
            writer.close()
        deadline = asyncio.get_running_loop().time() + 5
        while len(finished) < clients and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
    finally:
        await server.runner.cleanup()
    assert len(finished) == clients
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


# With a yield between sends each send writes in its own task and stalls there; without
# one, events pile up while another write stalls.
@pytest.mark.parametrize("yield_between", [False, True], ids=["flood", "yield-between"])
@pytest.mark.parametrize("handler_cancellation", [False, True])
async def test_a_frozen_client_gets_send_timeout_error_and_one_log_line(
    handler_cancellation: bool, yield_between: bool, caplog: pytest.LogCaptureFixture
) -> None:
    raised: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()
    escaped: list[BaseException] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            async with sse_response(request, send_timeout=0.3) as resp:
                try:
                    while True:
                        await resp.send("x" * 65536)
                        if yield_between:
                            await asyncio.sleep(0)
                except BaseException as exc:
                    raised.set_result(exc)
                    raise
        except BaseException as exc:  # the timeout was logged: the block swallows it
            escaped.append(exc)
            raise
        return resp

    server = await serve(handler, handler_cancellation=handler_cancellation)
    client = RawClient(server.port, "/", receive_buffer=4096)  # and it never reads
    try:
        exc = await asyncio.wait_for(raised, 5)
        await asyncio.sleep(0.1)
    finally:
        client.close()
        await server.runner.cleanup()
    assert type(exc) is SendTimeoutError
    assert isinstance(exc, TimeoutError)
    assert escaped == []
    timeouts = [r for r in caplog.records if "send_timeout" in r.getMessage()]
    assert len(timeouts) == 1
    assert timeouts[0].exc_info is None
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_an_idle_send_stream_owns_no_task() -> None:
    idle = asyncio.Event()
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = EventSourceResponse(ping_interval=5, send_timeout=5)
        await resp.prepare(request)
        await resp.send("ready")
        idle.set()
        await release.wait()
        resp.stop_streaming()
        await resp.wait()
        return resp

    def ours(task: asyncio.Task[Any]) -> bool:
        code = getattr(task.get_coro(), "cr_code", None)
        return code is not None and "sse_fast" in code.co_filename

    server = await serve(handler)
    try:
        reader, writer = await server.get()
        await asyncio.wait_for(idle.wait(), 2)
        await asyncio.sleep(0.05)
        assert [task for task in asyncio.all_tasks() if ours(task)] == []
        release.set()
        assert await read_body(reader) == b"data: ready\r\n\r\n"
        writer.close()
    finally:
        await server.runner.cleanup()


async def test_app_shutdown_ends_open_streams_promptly() -> None:
    async def events() -> AsyncIterator[str]:
        yield "ready"
        await asyncio.sleep(60)

    async def handler(request: web.Request) -> web.StreamResponse:
        farewell = sse_fast.ServerSentEvent("bye", event="bye")
        return await stream(request, events(), farewell=farewell)

    server = await serve(handler)
    reader, writer = await server.get()
    await reader.readuntil(b"ready\r\n\r\n\r\n")  # the event and its chunk's end
    loop = asyncio.get_running_loop()
    start = loop.time()
    await server.runner.cleanup()  # on_shutdown, then the wait for handlers
    assert loop.time() - start < 1.0
    rest = await read_body(reader)
    writer.close()
    assert rest.endswith(b"event: bye\r\ndata: bye\r\n\r\n")


async def test_send_after_stop_streaming_raises_connection_reset() -> None:
    raised: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        async with sse_response(request) as resp:
            await resp.send("last")
            resp.stop_streaming()
            try:
                await resp.send("too late")
            except ConnectionResetError as exc:
                raised.append(str(exc))
        return resp

    body = await body_of(handler)
    assert body == b"data: last\r\n\r\n"
    assert raised == ["the stream has ended (stop_streaming() was called)"]


async def test_send_event_takes_sse_fast_events_and_comments() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        async with sse_response(request, sep="\n") as resp:
            await resp.send_event(sse_fast.ServerSentEvent("a", id="1", retry=10))
            await resp.send_event(sse_fast.ServerSentEvent(comment="note"))
            await resp.write(b"data: raw\n\n")
        return resp

    body = await body_of(handler)
    assert body == b"id: 1\ndata: a\nretry: 10\n\n: note\n\ndata: raw\n\n"


NO_LINE_OR_NUL = "id must not contain line separators or null characters"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"id": "a\nb"}, f"{NO_LINE_OR_NUL} (CR, LF or NUL): 'a\\nb'"),
        ({"id": "a\x00"}, f"{NO_LINE_OR_NUL} (CR, LF or NUL): 'a\\x00'"),
        ({"event": "a\rb"}, "event must not contain line separators (CR or LF): 'a\\rb'"),
    ],
)
async def test_bad_fields_are_refused_in_aiohttp_sse_s_words_with_the_value(
    fields: dict[str, Any], message: str
) -> None:
    refused: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        async with sse_response(request) as resp:
            try:
                await resp.send("x", **fields)
            except ValueError as exc:
                refused.append(str(exc))
            await resp.send("ok")
        return resp

    assert await body_of(handler) == b"data: ok\r\n\r\n"
    assert refused == [message]


def test_calls_before_prepare_are_refused() -> None:
    resp = EventSourceResponse()
    with pytest.raises(RuntimeError, match="not started"):
        resp.stop_streaming()
    with pytest.raises(RuntimeError, match="must be prepared first"):
        _ = resp.last_event_id
    with pytest.raises(RuntimeError, match="not started"):
        asyncio.run(resp.wait())
    with pytest.raises(RuntimeError, match="call prepare"):
        asyncio.run(resp.send("x"))


@pytest.mark.parametrize("interval", [-1, float("nan")])
def test_bad_ping_interval_is_refused(interval: float) -> None:
    # aiohttp-sse's words (its own suite matches them), then the value.
    with pytest.raises(ValueError, match=rf"ping interval must be positive.*={interval!r}$"):
        EventSourceResponse(ping_interval=interval)


def test_ping_interval_zero_is_accepted() -> None:
    assert EventSourceResponse(ping_interval=0).ping_interval == 0


def test_unknown_separator_is_refused() -> None:
    with pytest.raises(ValueError, match="sep"):
        EventSourceResponse(sep="\n\n")


def test_compression_is_refused() -> None:
    with pytest.raises(NotImplementedError):
        EventSourceResponse().enable_compression()


def test_response_cls_must_be_an_event_source_response() -> None:
    request: Any = None
    not_a_subclass: Any = web.StreamResponse
    with pytest.raises(TypeError, match="response_cls"):
        sse_response(request, response_cls=not_a_subclass)


def test_class_constants_are_aiohttp_sse_s() -> None:
    assert EventSourceResponse.DEFAULT_SEPARATOR == "\r\n"
    assert EventSourceResponse.DEFAULT_PING_INTERVAL == 15
    assert EventSourceResponse.DEFAULT_SEND_TIMEOUT == 120
    assert EventSourceResponse.DEFAULT_LAST_EVENT_HEADER == "Last-Event-Id"


def test_responses_with_the_same_options_share_them_and_bad_ones_are_named() -> None:
    assert EventSourceResponse(sep="\n").options is EventSourceResponse(sep="\n").options
    assert EventSourceResponse(ping_interval=0).options.ping is None
    assert EventSourceResponse(send_timeout=1).options.send_timeout == 1.0
    with pytest.raises(TypeError, match="send_timeout"):  # True == 1, but not cached as 1
        EventSourceResponse(send_timeout=True)
    with pytest.raises(ValueError, match=r"send_timeout must be > 0 seconds: 0"):
        EventSourceResponse(send_timeout=0)
    not_framed: Any = ["bye"]  # unhashable: built without the shared cache, still checked
    with pytest.raises(TypeError, match="farewell"):
        EventSourceResponse(farewell=not_framed)
