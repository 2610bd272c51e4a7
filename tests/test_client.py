"""The client against a real server on 127.0.0.1, through every HTTP library it takes:
async (httpx, httpx2, aiohttp) and sync (httpx, httpx2, requests)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import aiohttp
import httpx
import httpx2
import pytest
import requests
from sse_server import Reply, SSEServer, server_in_thread

import sse_fast
from sse_fast.client import (
    Event,
    EventSource,
    EventStreamError,
    Reconnecting,
    SyncEventSource,
    aiter_events,
    connect,
    connect_sync,
    iter_events,
)

TIMEOUT = 20  # seconds: every test is bounded in time
ASYNC = ["httpx-async", "httpx2-async", "aiohttp"]
SYNC = ["httpx-sync", "httpx2-sync", "requests"]
TRANSPORT_ERRORS = (httpx.TransportError, httpx2.TransportError, aiohttp.ClientError,
                    requests.ConnectionError)  # fmt: skip


@pytest.fixture(params=ASYNC + SYNC)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def async_client(backend: str) -> AsyncIterator[Any]:
    if backend == "aiohttp":
        async with aiohttp.ClientSession() as session:
            yield session
    else:
        library: Any = httpx if backend == "httpx-async" else httpx2
        async with library.AsyncClient(timeout=10) as client:
            yield client


@contextmanager
def sync_client(backend: str) -> Iterator[Any]:
    if backend == "requests":
        with requests.Session() as session:
            yield session
    else:
        library: Any = httpx if backend == "httpx-sync" else httpx2
        with library.Client(timeout=10) as client:
            yield client


def collect(
    backend: str, url: str, limit: int = 100, **options: Any
) -> tuple[list[Event], EventSource | SyncEventSource]:
    """The events read through ``backend`` (at most ``limit``), and the source."""
    events: list[Event] = []

    def keep(event: Event) -> bool:
        events.append(event)
        return len(events) < limit

    if backend in ASYNC:

        async def main() -> EventSource:
            async with async_client(backend) as client, connect(client, url, **options) as source:
                async for event in source:
                    if not keep(event):
                        break
                return source

        async def bounded() -> EventSource:
            return await asyncio.wait_for(main(), TIMEOUT)

        return events, asyncio.run(bounded())

    def read() -> SyncEventSource:
        with sync_client(backend) as client, connect_sync(client, url, **options) as source:
            for event in source:
                if not keep(event):
                    break
            return source

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return events, pool.submit(read).result(TIMEOUT)


def frames(first: int, last: int) -> bytes:
    return b"".join(b"id: %d\nevent: tick\ndata: event %d\ndata: line 2\n\n" % (i, i)
                    for i in range(first, last + 1))  # fmt: skip


def ids(events: list[Event]) -> list[str]:
    return [event.id for event in events]


def test_events_arrive_decoded(backend: str) -> None:
    script = [Reply([b"retry: 10\n", frames(1, 2)]), Reply(status=204)]
    with server_in_thread(script) as server:
        events, _ = collect(backend, server.url)
    assert events == [
        Event("event 1\nline 2", event="tick", id="1"),
        Event("event 2\nline 2", event="tick", id="2"),
    ]
    assert all(type(event) is Event for event in events)


def test_every_library_sync_and_async_gives_the_same_events() -> None:
    body = [b"retry: 10\n", b"data: a\r\n\r", b"\nevent: e\ndata: \xe2\x82", b"\xac\nid: 7\n\n",
            b": ping\n\ndata: {\"k\": [1]}\n\n"]  # fmt: skip
    results = {}
    for backend in ASYNC + SYNC:
        with server_in_thread([Reply(body), Reply(status=204)]) as server:
            results[backend] = collect(backend, server.url)[0]
    expected = [Event("a"), Event("€", "e", "7"), Event('{"k": [1]}', "message", "7")]
    assert results == dict.fromkeys(ASYNC + SYNC, expected)


def test_no_event_is_lost_or_duplicated_when_the_server_drops_mid_event(backend: str) -> None:
    whole = frames(5, 9)
    script = [
        # Cut inside event 5: its id line has arrived, its blank line has not.
        Reply([b"retry: 10\n\n", frames(1, 4), whole[:20]], drop=True),
        Reply([frames(5, 7), b"id: 8\ndata: half"], drop=True, pause=0.01),
        Reply([frames(8, 9)]),  # a body that ends normally: reconnect too
        Reply(status=204),
    ]
    with server_in_thread(script) as server:
        events, _ = collect(backend, server.url)
    assert ids(events) == [str(i) for i in range(1, 10)]
    assert [h.get("Last-Event-ID") for h in server.headers] == [None, "4", "7", "9"]
    assert all(h["Accept"] == "text/event-stream" for h in server.headers)


def test_reconnection_waits_the_retry_time_from_the_stream(backend: str) -> None:
    script = [Reply([b"retry: 300\n", frames(1, 1)]), Reply(status=204)]
    with server_in_thread(script) as server:
        collect(backend, server.url, retry=5)
    assert len(server.times) == 2
    assert server.times[1] - server.times[0] >= 0.3


def test_204_stops_without_events(backend: str) -> None:
    with server_in_thread([Reply(status=204)]) as server:
        events, source = collect(backend, server.url)
    assert events == []
    assert len(server.headers) == 1
    assert source.reconnects == 0


def test_500_raises_with_status_headers_and_the_start_of_the_body(backend: str) -> None:
    body = json.dumps({"detail": "token expired"}).encode()
    script = [Reply([body], status=500, content_type="application/json")]
    with server_in_thread(script) as server, pytest.raises(EventStreamError) as info:
        collect(backend, server.url, retry=10)
    error = info.value
    assert error.status == 500
    assert error.headers["Content-Type"].startswith("application/json")
    assert error.body == body
    assert "token expired" in error.text
    assert "status 500" in str(error)
    assert "token expired" in str(error)
    assert len(server.headers) == 1  # no reconnection after a failed connection


def test_error_body_is_cut_at_one_kib(backend: str) -> None:
    script = [Reply([b"x" * 700, b"y" * 700], status=422, content_type="text/plain")]
    with server_in_thread(script) as server, pytest.raises(EventStreamError) as info:
        collect(backend, server.url)
    assert info.value.body == b"x" * 700 + b"y" * 324


@pytest.mark.parametrize("status", [503, 404, 201])
def test_status_other_than_200_raises(status: int) -> None:
    for backend in ("httpx-async", "requests"):
        script = [Reply([b"no"], status=status, content_type="text/plain")]
        with server_in_thread(script) as server, pytest.raises(EventStreamError) as info:
            collect(backend, server.url)
        assert info.value.status == status
        assert info.value.body == b"no"


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "text/event-streams"])
def test_wrong_content_type_raises(backend: str, content_type: str) -> None:
    script = [Reply([b"data: x\n\n"], content_type=content_type)]
    with server_in_thread(script) as server, pytest.raises(EventStreamError, match="Content-Type"):
        collect(backend, server.url, retry=10)


def test_content_type_parameters_are_ignored(backend: str) -> None:
    script = [
        Reply([frames(1, 1)], content_type="Text/Event-Stream; charset=windows-1252"),
        Reply(status=204),
    ]
    with server_in_thread(script) as server:
        assert ids(collect(backend, server.url, retry=10)[0]) == ["1"]


def test_last_event_id_is_seeded_and_sent_as_utf8(backend: str) -> None:
    with server_in_thread([Reply([b"data: a\n\n"]), Reply(status=204)]) as server:
        events, _ = collect(backend, server.url, retry=10, last_event_id="…7")
    assert ids(events) == ["…7"]
    raw = server.headers[0]["Last-Event-ID"]
    assert raw in ("…7", "…7".encode().decode("latin-1"))


def test_user_headers_and_request_options_are_sent(backend: str) -> None:
    with server_in_thread([Reply(status=204)]) as server:
        collect(backend, server.url, headers={"Authorization": "Bearer x"}, params={"q": "1"})
    assert server.headers[0]["Authorization"] == "Bearer x"


def test_unreachable_server_is_retried_then_the_error_raised(backend: str) -> None:
    with server_in_thread([]) as server:
        url = server.url  # nothing listens on that port once the block ends
    reports: list[Reconnecting] = []
    with pytest.raises(TRANSPORT_ERRORS):
        collect(backend, url, retry=10, max_reconnects=2, on_reconnect=reports.append)
    assert [r.attempt for r in reports] == [1, 2]
    assert all(r.reason.startswith("could not connect: ") for r in reports)
    assert all(r.error is not None for r in reports)


def test_max_reconnects_zero_ends_a_finished_stream_without_a_second_request(
    backend: str,
) -> None:
    with server_in_thread([Reply([frames(1, 2)])]) as server:
        events, source = collect(backend, server.url, max_reconnects=0)
    assert ids(events) == ["1", "2"]
    assert len(server.headers) == 1
    assert source.reconnects == 0


def test_silent_connection_is_replaced_after_the_idle_timeout(backend: str) -> None:
    script = [Reply([b"retry: 10\n", frames(1, 1)], hold=30), Reply([frames(2, 2)]),
              Reply(status=204)]  # fmt: skip
    reports: list[Reconnecting] = []
    with server_in_thread(script) as server:
        events, _ = collect(backend, server.url, idle_timeout=0.3, on_reconnect=reports.append)
    assert ids(events) == ["1", "2"]
    assert len(server.headers) == 3
    assert server.headers[1]["Last-Event-ID"] == "1"
    assert 0.3 <= server.times[1] - server.times[0] < 10
    assert reports[0].reason == "no byte for 0.3 s"
    assert reports[1].reason == "the stream ended"


def test_pings_keep_an_idle_connection_alive(backend: str) -> None:
    pings = [b": ping\n\n"] * 6
    script = [Reply([frames(1, 1), *pings, frames(2, 2)], pause=0.1), Reply(status=204)]
    with server_in_thread(script) as server:
        events, _ = collect(backend, server.url, idle_timeout=0.5, retry=10)
    assert ids(events) == ["1", "2"]
    assert len(server.headers) == 2  # one stream, then the 204


def test_on_bytes_sees_the_body_as_received(backend: str) -> None:
    body = [b"data: a\n\n", b": comment\n\n", b"data: b\n\n"]
    chunks: list[bytes] = []
    with server_in_thread([Reply(body, pause=0.05), Reply(status=204)]) as server:
        collect(backend, server.url, retry=10, on_bytes=chunks.append)
    assert b"".join(chunks) == b"".join(body)


def test_breaking_out_closes_the_connection(backend: str) -> None:
    with server_in_thread([Reply([frames(1, 3)], hold=30)]) as server:
        events, _ = collect(backend, server.url, limit=2)
    assert ids(events) == ["1", "2"]


def test_event_larger_than_max_event_size_raises_instead_of_reconnecting(backend: str) -> None:
    script = [Reply([b"data: " + b"x" * 1000 + b"\n\n"])]
    with server_in_thread(script) as server, pytest.raises(sse_fast.EventTooLarge):
        collect(backend, server.url, retry=10, max_event_size=100)
    assert len(server.headers) == 1


def test_post_with_a_json_body(backend: str) -> None:
    with server_in_thread([Reply([b"data: ok\n\n"])]) as server:
        events, _ = collect(backend, server.url, method="POST", json={"q": 1}, max_reconnects=0)
    assert events == [Event("ok")]
    assert server.headers[0]["Content-Type"] == "application/json"


def test_aiter_events_reads_one_response() -> None:
    async def main(backend: str, url: str) -> tuple[list[Event], str]:
        decoder = sse_fast.Decoder()
        async with async_client(backend) as client:
            response: Any
            if backend == "aiohttp":
                async with client.get(url) as response:
                    events = [e async for e in aiter_events(response, decoder)]
            else:
                async with client.stream("GET", url) as response:
                    events = [e async for e in aiter_events(response, decoder)]
        return events, decoder.last_event_id

    for backend in ASYNC:
        with server_in_thread([Reply([frames(1, 2), b"id: 3\ndata: cut"])]) as server:
            events, last_event_id = asyncio.run(asyncio.wait_for(main(backend, server.url), 20))
        assert ids(events) == ["1", "2"]
        assert last_event_id == "2"


def test_iter_events_reads_one_response() -> None:
    for backend in SYNC:
        with (
            server_in_thread([Reply([frames(1, 2), b"id: 3\ndata: cut"])]) as server,
            sync_client(backend) as client,
        ):
            if backend == "requests":
                with client.get(server.url, stream=True, timeout=10) as response:
                    events = list(iter_events(response))
            else:
                with client.stream("GET", server.url) as response:
                    events = list(iter_events(response))
        assert ids(events) == ["1", "2"]


def test_iter_events_checks_the_response() -> None:
    with (
        server_in_thread([Reply([b"<html>"], content_type="text/html")]) as server,
        httpx.Client(timeout=10) as client,
        client.stream("GET", server.url) as response,
        pytest.raises(EventStreamError) as info,
    ):
        list(iter_events(response))
    assert info.value.response is response
    assert info.value.body == b"<html>"


def test_aiter_events_rejects_other_objects() -> None:
    async def main() -> None:
        async for _ in aiter_events(object()):  # type: ignore[arg-type]
            pass

    with pytest.raises(TypeError, match="response must be a httpx response or"):
        asyncio.run(main())


def test_connect_rejects_other_clients() -> None:
    with pytest.raises(TypeError, match=r"httpx\.AsyncClient, httpx2\.AsyncClient, aiohttp"):
        connect(object(), "http://127.0.0.1:1/")  # type: ignore[arg-type]
    with httpx.Client() as client, pytest.raises(TypeError, match=r"use connect_sync\(\)"):
        connect(client, "http://127.0.0.1:1/")  # type: ignore[arg-type]
    with requests.Session() as session, pytest.raises(TypeError, match=r"use connect_sync\(\)"):
        connect(session, "http://127.0.0.1:1/")  # type: ignore[arg-type]


def test_connect_sync_rejects_async_clients() -> None:
    async def main() -> None:
        async with httpx.AsyncClient() as client:
            connect_sync(client, "http://127.0.0.1:1/")  # type: ignore[arg-type]

    with pytest.raises(TypeError, match=r"httpx async client: use connect\(\)"):
        asyncio.run(main())


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("retry", -1, "retry must be an int >= 0, got -1"),
        ("retry", True, "retry must be an int >= 0, got True"),
        ("max_reconnects", -2, "max_reconnects must be an int >= 0, got -2"),
        ("max_reconnects", 1.5, "max_reconnects must be an int >= 0, got 1.5"),
        ("idle_timeout", 0, "idle_timeout must be a number > 0, got 0"),
        ("method", "", "method must be a non-empty str, got ''"),
    ],
)
def test_bad_options_are_named(option: str, value: object, message: str) -> None:
    options: dict[str, Any] = {option: value}
    with httpx.Client() as client, pytest.raises(ValueError, match=f"^{message}$"):
        connect_sync(client, "http://127.0.0.1:1/", **options)


def test_bad_hooks_are_named() -> None:
    with httpx.Client() as client, pytest.raises(TypeError, match="on_reconnect must be callable"):
        connect_sync(client, "http://127.0.0.1:1/", on_reconnect=3)  # type: ignore[arg-type]


def test_event_json() -> None:
    assert Event('{"a": [1, 2]}').json() == {"a": [1, 2]}
    with pytest.raises(json.JSONDecodeError, match=r"data of event 'tick' \(id '4'\) is not JSON"):
        Event("{oops", "tick", "4").json()


def test_client_imports_no_http_library_until_given_one() -> None:
    code = (
        "import sys, sse_fast.client, sse_fast.testing, sse_fast.__main__\n"
        "print([m for m in ('httpx', 'httpx2', 'aiohttp', 'requests') if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("backend", ASYNC)
def test_async_source_runs_in_the_servers_loop_too(backend: str) -> None:
    """The async client needs no thread: client and server share one event loop."""

    async def main() -> list[Event]:
        async with (
            SSEServer([Reply([frames(1, 1)]), Reply(status=204)]) as server,
            async_client(backend) as client,
            connect(client, server.url) as source,
        ):
            return [event async for event in source]

    assert ids(asyncio.run(asyncio.wait_for(main(), TIMEOUT))) == ["1"]
