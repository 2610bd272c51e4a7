"""sse-starlette's behaviours that its apps and test suites rely on (issue 12), in process.

Each test here failed before the change it covers; the peers' own suites run against
the adapter in ``make compat``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, MutableMapping
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from sse_fast.adapters.starlette import (
    AppStatus,
    EventSourceResponse,
    JSONServerSentEvent,
    SendTimeoutError,
    ServerSentEvent,
    ensure_bytes,
)

TIMEOUT = 5


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def fresh_app_status() -> Iterator[None]:
    AppStatus.should_exit = False
    AppStatus.should_exit_event = None
    yield
    AppStatus.should_exit = False
    AppStatus.should_exit_event = None
    AppStatus.enable_automatic_graceful_drain_mode()


def body_of(response: EventSourceResponse) -> bytes:
    async def endpoint(request: Request) -> EventSourceResponse:
        return response

    with TestClient(Starlette(routes=[Route("/", endpoint)])) as client:
        return bytes(client.get("/").content)


Message = MutableMapping[str, Any]
Messages = list[Message]


async def call(
    response: EventSourceResponse, scope: dict[str, Any], *, stall: str | None = None
) -> Messages:
    """Run the ASGI response with a client that never leaves; ``stall`` is a message
    type whose send never completes."""
    sent: Messages = []

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == stall:
            await anyio.sleep_forever()

    async def receive() -> Message:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    with anyio.fail_after(TIMEOUT):
        await response(scope, receive, send)
    return sent


async def endless() -> AsyncIterator[Any]:
    while True:
        yield "x"
        await anyio.sleep(0.01)


def http(method: str = "GET") -> dict[str, Any]:
    return {"type": "http", "method": method, "headers": [], "http_version": "1.1"}


# ---------------------------------------------------------------- numbers as data


async def numbers() -> AsyncIterator[Any]:
    yield 1
    yield 2.5
    yield {"data": 3, "id": 4}
    yield {"data": "x", "event": "e"}
    yield ServerSentEvent(5)


def test_numbers_are_sent_as_sse_starlette_formats_them() -> None:
    assert body_of(EventSourceResponse(numbers(), ping=0)) == (
        b"data: 1\r\n\r\ndata: 2.5\r\n\r\nid: 4\r\ndata: 3\r\n\r\n"
        b"event: e\r\ndata: x\r\n\r\ndata: 5\r\n\r\n"
    )


def test_numbers_from_a_sync_iterable_and_a_list() -> None:
    assert body_of(EventSourceResponse(iter([7, {"data": 8}]), ping=0)) == (
        b"data: 7\r\n\r\ndata: 8\r\n\r\n"
    )
    assert body_of(EventSourceResponse([[9, 10]], ping=0)) == b"data: 9\r\n\r\ndata: 10\r\n\r\n"


def test_a_dict_is_not_changed_and_its_sep_is_the_responses() -> None:
    item = {"data": 1, "sep": "\n"}
    assert body_of(EventSourceResponse([item], ping=0)) == b"data: 1\r\n\r\n"
    assert item == {"data": 1, "sep": "\n"}


@pytest.mark.parametrize("item", [object(), True, None])
def test_other_objects_keep_the_clear_type_error(item: object) -> None:
    with pytest.raises(TypeError, match=f"cannot stream {type(item).__name__}"):
        body_of(EventSourceResponse([item], ping=0))


def test_ensure_bytes_encodes_one_item_as_the_stream_does() -> None:
    assert ensure_bytes(memoryview(b"raw")) == b"raw"
    assert ensure_bytes(3, "\n") == b"data: 3\n\n"
    assert ensure_bytes({"data": "a", "event": "b"}, "\n") == b"event: b\ndata: a\n\n"
    assert ensure_bytes(ServerSentEvent("x", sep="\r")) == b"data: x\r\r"
    with pytest.raises(TypeError, match="cannot encode object"):
        ensure_bytes(object())


# ---------------------------------------------------------------- JSON with no data


def test_json_event_without_data_sends_no_data_line() -> None:
    assert JSONServerSentEvent(comment="a comment").encode() == b": a comment\r\n\r\n"
    assert JSONServerSentEvent(None, event="e").encode() == b"event: e\r\n\r\n"
    assert JSONServerSentEvent(0).encode() == b"data: 0\r\n\r\n"


# ---------------------------------------------------------------- cleanup_timeout


@pytest.mark.parametrize("value", [-1, -0.1, float("nan")])
def test_a_negative_cleanup_timeout_is_refused_at_construction(value: float) -> None:
    with pytest.raises(ValueError, match=r"^cleanup_timeout must be >= 0"):
        EventSourceResponse([], cleanup_timeout=value)


@pytest.mark.anyio
async def test_cleanup_timeout_bounds_the_sources_cleanup(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The client stops reading and leaves while the source waits at a ``yield`` (the
    engine's buffer is full): closing the source is cut short after ``cleanup_timeout``."""
    cleanup: list[str] = []

    async def stuck_cleanup() -> AsyncIterator[Any]:
        try:
            for n in range(100_000):
                yield str(n)
        finally:
            try:
                await anyio.sleep(30)
                cleanup.append("finished")
            except anyio.get_cancelled_exc_class():
                cleanup.append("cut short")
                raise

    response = EventSourceResponse(stuck_cleanup(), ping=0, cleanup_timeout=0.05)
    body_sent = anyio.Event()

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body" and message["body"]:
            body_sent.set()
            await anyio.sleep_forever()

    async def receive() -> Message:
        await body_sent.wait()
        await anyio.sleep(0.05)
        return {"type": "http.disconnect"}

    start = anyio.current_time()
    with anyio.fail_after(TIMEOUT):
        await response(http(), receive, send)
    assert cleanup == ["cut short"]
    assert anyio.current_time() - start < 0.9  # not the 30 s cleanup, nor the engine's default 1 s
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("cleanup_timeout" in r.getMessage() for r in warnings)
    # sse-starlette's logger name: an app's logging configuration for it still applies.
    assert {r.name for r in warnings} == {"sse_starlette.sse"}
    assert EventSourceResponse([]).cleanup_timeout == EventSourceResponse.DEFAULT_CLEANUP_TIMEOUT


# ---------------------------------------------------------------- AppStatus


@pytest.mark.anyio
async def test_should_exit_drains_open_streams_and_sets_the_shutdown_event() -> None:
    shutdown_event = anyio.Event()
    farewell: list[str] = []

    async def ticks() -> AsyncIterator[Any]:
        while not shutdown_event.is_set():
            yield "tick"
            with anyio.move_on_after(0.05):
                await shutdown_event.wait()
        farewell.append("bye")
        yield {"event": "bye", "data": "bye"}

    response = EventSourceResponse(
        ticks(), ping=0, shutdown_event=shutdown_event, shutdown_grace_period=2
    )
    sent: Messages = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    exit_event = anyio.Event()
    AppStatus.should_exit_event = exit_event
    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: response(http(), receive, send))
            await anyio.sleep(0.1)
            AppStatus.should_exit = True
    assert exit_event.is_set()
    assert farewell == ["bye"]
    body = b"".join(m.get("body", b"") for m in sent)
    assert body.endswith(b"event: bye\r\ndata: bye\r\n\r\n")
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


@pytest.mark.anyio
async def test_a_stream_opened_while_should_exit_is_set_ends_at_once() -> None:
    AppStatus.should_exit = True
    sent = await call(EventSourceResponse(endless(), ping=0), http())
    assert sent[-1]["more_body"] is False
    AppStatus.should_exit = False  # reset, as a test fixture does: streams run again
    response = EventSourceResponse(["a"], ping=0)
    assert b"data: a" in b"".join(m.get("body", b"") for m in await call(response, http()))


@pytest.mark.anyio
async def test_handle_exit_wakes_listeners_and_calls_the_original_handler() -> None:
    calls: list[tuple[Any, ...]] = []
    AppStatus.original_handler = lambda *args: calls.append(args)
    try:
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as group:
                group.start_soon(EventSourceResponse._listen_for_exit_signal)
                await anyio.sleep(0.05)
                AppStatus.handle_exit(2, None)
    finally:
        AppStatus.original_handler = None
    assert AppStatus.should_exit is True
    assert calls == [(2, None)]


def test_disabled_automatic_drain_still_drains_on_should_exit() -> None:
    AppStatus.disable_automatic_graceful_drain()
    AppStatus.handle_exit()
    assert AppStatus.should_exit is False  # handle_exit leaves it to the app
    assert AppStatus._shutdown_for_stream().triggered is False
    AppStatus.should_exit = True
    assert AppStatus._shutdown_for_stream().triggered is True


@pytest.mark.anyio
async def test_an_overridden_exit_signal_drains_that_response() -> None:
    response = EventSourceResponse(endless(), ping=0)

    async def exit_soon() -> None:
        await anyio.sleep(0.1)

    response._listen_for_exit_signal = exit_soon  # type: ignore[method-assign]
    sent = await call(response, http())
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


# ---------------------------------------------------------------- HEAD, websocket, headers


@pytest.mark.anyio
async def test_head_with_a_lowercase_method_does_not_stream() -> None:
    async def never() -> AsyncIterator[Any]:
        raise AssertionError("HEAD must not start the stream")
        yield  # pragma: no cover

    sent = await call(EventSourceResponse(never()), http("head"))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[-1]["more_body"] is False


@pytest.mark.anyio
@pytest.mark.parametrize("stall", ["http.response.start", "http.response.body"])
async def test_send_timeout_applies_to_head(stall: str) -> None:
    response = EventSourceResponse([], send_timeout=0.05)
    with pytest.raises(SendTimeoutError):
        await call(response, http("HEAD"), stall=stall)


@pytest.mark.anyio
async def test_a_websocket_scope_gets_a_denial_response() -> None:
    response = EventSourceResponse([b"denied"], ping=0)
    sent = await call(response, {"type": "websocket", "headers": []})
    assert [m["type"] for m in sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",  # the last events end the body in one message
    ]
    assert sent[1]["body"] == b"denied"
    assert sent[1]["more_body"] is False
    assert b"connection" not in dict(sent[0]["headers"])


def test_headers_are_visible_before_sending_and_the_callers_cache_control_wins() -> None:
    response = EventSourceResponse(
        [],
        headers={
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "yes",
            "Connection": "close",
            "X-Custom": "1",
        },
    )
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["connection"] == "keep-alive"
    assert response.headers["x-custom"] == "1"
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert EventSourceResponse([]).headers["cache-control"] == "no-store"


@pytest.mark.anyio
@pytest.mark.parametrize(("version", "connection"), [("1.1", b"keep-alive"), ("2", None)])
async def test_connection_header_only_on_http_1_1(version: str, connection: bytes | None) -> None:
    sent = await call(EventSourceResponse([], ping=0), {**http(), "http_version": version})
    headers = dict(sent[0]["headers"])
    assert headers.get(b"connection") == connection
    assert headers[b"x-accel-buffering"] == b"no"
