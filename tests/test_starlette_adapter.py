"""The Starlette adapter's public surface, in process (the server tests run it for real)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from sse_fast.adapters.starlette import (
    DEFAULT_SEPARATOR,
    EventSourceResponse,
    JSONServerSentEvent,
    ServerSentEvent,
)


def client_for(response: EventSourceResponse) -> TestClient:
    async def endpoint(request: Request) -> EventSourceResponse:
        return response

    return TestClient(Starlette(routes=[Route("/", endpoint, methods=["GET", "HEAD"])]))


def test_event_encodes_with_crlf_by_default() -> None:
    assert DEFAULT_SEPARATOR == "\r\n"
    assert ServerSentEvent("a\nb", id="1").encode() == b"id: 1\r\ndata: a\r\ndata: b\r\n\r\n"
    assert ServerSentEvent("x", sep="\n").encode() == b"data: x\n\n"


def test_numbers_are_accepted_as_data_and_id() -> None:
    assert ServerSentEvent(3.5, id=7).encode() == b"id: 7\r\ndata: 3.5\r\n\r\n"


def test_retry_true_is_refused_where_sse_starlette_writes_retry_true() -> None:
    message = r"^retry argument must be int \(milliseconds\) or datetime.timedelta, not bool$"
    with pytest.raises(TypeError, match=message):
        ServerSentEvent("x", retry=True)


def test_json_event_is_compact() -> None:
    event = JSONServerSentEvent({"a": [1, "é"]}, event="j")
    assert event.encode() == 'event: j\r\ndata: {"a":[1,"é"]}\r\n\r\n'.encode()


@pytest.mark.parametrize("ping", [-1, -0.5])
def test_negative_ping_is_refused(ping: float) -> None:
    with pytest.raises(ValueError, match="ping interval must be >= 0"):
        EventSourceResponse([], ping=ping)


def test_non_number_ping_is_refused() -> None:
    with pytest.raises(TypeError, match="ping interval must be int or float"):
        EventSourceResponse([], ping="15")  # type: ignore[arg-type]


def test_unknown_separator_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^sep must be one of"):
        EventSourceResponse([], sep="\t")


def test_compression_is_refused() -> None:
    with pytest.raises(NotImplementedError):
        EventSourceResponse([]).enable_compression()


def test_finite_stream_through_the_test_client() -> None:
    with client_for(EventSourceResponse(["a", {"data": "b", "id": "2"}], ping=0)) as client:
        response = client.get("/")
    assert response.content == b"data: a\r\n\r\nid: 2\r\ndata: b\r\n\r\n"
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"


def test_head_answers_headers_without_iterating() -> None:
    class Untouchable:
        def __iter__(self) -> Iterator[Any]:
            raise AssertionError("the content must not be iterated for HEAD")

    with client_for(EventSourceResponse(Untouchable())) as client:
        response = client.head("/")
    assert response.status_code == 200
    assert response.content == b""


def test_background_task_runs_after_the_stream() -> None:
    from starlette.background import BackgroundTask

    ran: list[str] = []
    response = EventSourceResponse(["x"], ping=0, background=BackgroundTask(ran.append, "done"))
    with client_for(response) as client:
        client.get("/")
    assert ran == ["done"]


def test_last_event_id_is_read_as_utf8() -> None:
    from starlette.requests import Request as StarletteRequest

    from sse_fast.adapters.starlette import last_event_id

    scope = {"type": "http", "headers": [(b"last-event-id", "évènement…".encode())]}
    request = StarletteRequest(scope)
    assert request.headers["last-event-id"] != "évènement…"  # Starlette's Latin-1 view
    assert last_event_id(request) == "évènement…"
    assert last_event_id(StarletteRequest({"type": "http", "headers": []})) == ""


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"send_timeout": 0}, "send_timeout must be > 0"),
        ({"shutdown_grace_period": -1}, "shutdown_grace_period must be >= 0"),
        ({"ping": -1}, "ping interval must be >= 0"),
        ({"farewell": b"data: bye\n\n"}, "farewell bytes must end with a blank line"),
    ],
)
def test_bad_options_fail_when_the_response_is_built(options: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EventSourceResponse(iter(["x"]), **options)


def test_a_farewell_that_is_not_an_event_fails_when_the_response_is_built() -> None:
    with pytest.raises(TypeError, match=r"^farewell must be a ServerSentEvent or framed bytes"):
        EventSourceResponse(iter(["x"]), farewell="bye")  # type: ignore[arg-type]


@pytest.mark.parametrize("content", ["text", {"data": "x"}, b"data: x\r\n\r\n"])
def test_content_that_is_not_a_stream_of_events_fails_before_the_response_starts(
    content: Any,
) -> None:
    with (
        client_for(EventSourceResponse(content)) as client,
        pytest.raises(TypeError, match="iterable, an async iterable"),
    ):
        client.get("/")  # raised before http.response.start: the server answers 500


def test_the_lifespan_helper_triggers_the_shutdown_and_undoes_its_signal_chain() -> None:
    import signal

    import anyio

    from sse_fast.adapters.starlette import lifespan
    from sse_fast.stream import Shutdown

    shutdown = Shutdown()
    before = signal.getsignal(signal.SIGTERM)

    async def serve() -> None:
        async with lifespan(shutdown, signals=True)(Starlette()):
            assert signal.getsignal(signal.SIGTERM) is not before  # chained while serving
            assert not shutdown.triggered
        assert shutdown.triggered
        assert signal.getsignal(signal.SIGTERM) is before

    anyio.run(serve)
