"""The client against a real server on 127.0.0.1, through httpx and through aiohttp."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
import httpx
import pytest
from sse_server import Reply, SSEServer

import sse_fast
from sse_fast.client import EventStreamError, aiter_events, connect

T = TypeVar("T")
TIMEOUT = 20  # seconds: every test is bounded in time


def run(coro: Awaitable[T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, TIMEOUT)

    return asyncio.run(bounded())


@pytest.fixture(params=["httpx", "aiohttp"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def http_client(backend: str) -> AsyncIterator[Any]:
    if backend == "httpx":
        async with httpx.AsyncClient(timeout=10) as client:
            yield client
    else:
        async with aiohttp.ClientSession() as session:
            yield session


def frames(first: int, last: int) -> bytes:
    return b"".join(b"id: %d\nevent: tick\ndata: event %d\ndata: line 2\n\n" % (i, i)
                    for i in range(first, last + 1))  # fmt: skip


async def collect(backend: str, server: SSEServer, limit: int = 100, **kwargs: Any) -> list[Any]:
    events: list[Any] = []
    async with http_client(backend) as client, connect(client, server.url, **kwargs) as source:
        async for event in source:
            events.append(event)
            if len(events) >= limit:
                break
    return events


def ids(events: list[Any]) -> list[str]:
    return [event.id for event in events]


def test_events_arrive_decoded(backend: str) -> None:
    async def main() -> list[Any]:
        script = [Reply([b"retry: 10\n", frames(1, 2)]), Reply(status=204)]
        async with SSEServer(script) as server:
            return await collect(backend, server)

    events = run(main())
    assert events == [
        sse_fast.ServerSentEvent("event 1\nline 2", event="tick", id="1"),
        sse_fast.ServerSentEvent("event 2\nline 2", event="tick", id="2"),
    ]


def test_no_event_is_lost_or_duplicated_when_the_server_drops_mid_event(backend: str) -> None:
    async def main() -> tuple[list[Any], SSEServer]:
        whole = frames(5, 9)
        script = [
            # Cut inside event 5: its id line has arrived, its blank line has not.
            Reply([b"retry: 10\n\n", frames(1, 4), whole[:20]], drop=True),
            Reply([frames(5, 7), b"id: 8\ndata: half"], drop=True, pause=0.01),
            Reply([frames(8, 9)]),  # a body that ends normally: reconnect too
            Reply(status=204),
        ]
        async with SSEServer(script) as server:
            return await collect(backend, server), server

    events, server = run(main())
    assert ids(events) == [str(i) for i in range(1, 10)]
    assert [h.get("Last-Event-ID") for h in server.headers] == [None, "4", "7", "9"]
    assert all(h["Accept"] == "text/event-stream" for h in server.headers)


def test_reconnection_waits_the_retry_time_from_the_stream(backend: str) -> None:
    async def main() -> SSEServer:
        script = [Reply([b"retry: 300\n", frames(1, 1)], drop=True), Reply(status=204)]
        async with SSEServer(script) as server:
            await collect(backend, server, retry=5)
            return server

    server = run(main())
    assert len(server.times) == 2
    assert server.times[1] - server.times[0] >= 0.3


def test_reconnection_waits_the_default_retry_time_without_one(backend: str) -> None:
    async def main() -> SSEServer:
        async with SSEServer([Reply([frames(1, 1)]), Reply(status=204)]) as server:
            await collect(backend, server, retry=200)
            return server

    server = run(main())
    assert 0.2 <= server.times[1] - server.times[0] < 5


def test_204_stops_without_events(backend: str) -> None:
    async def main() -> tuple[list[Any], SSEServer]:
        async with SSEServer([Reply(status=204)]) as server:
            return await collect(backend, server), server

    events, server = run(main())
    assert events == []
    assert len(server.headers) == 1


@pytest.mark.parametrize("status", [500, 503, 404, 201])
def test_status_other_than_200_raises_with_the_response(backend: str, status: int) -> None:
    async def main() -> tuple[EventStreamError, SSEServer]:
        async with SSEServer([Reply([b"no"], status=status, content_type="text/plain")]) as server:
            with pytest.raises(EventStreamError, match=f"status {status}") as info:
                await collect(backend, server, retry=10)
            return info.value, server

    error, server = run(main())
    response_status = getattr(error.response, "status_code", None) or error.response.status
    assert response_status == status
    assert len(server.headers) == 1  # no reconnection after a failed connection


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "text/event-streams"])
def test_wrong_content_type_raises(backend: str, content_type: str) -> None:
    async def main() -> None:
        async with SSEServer([Reply([b"data: x\n\n"], content_type=content_type)]) as server:
            with pytest.raises(EventStreamError, match="Content-Type"):
                await collect(backend, server, retry=10)

    run(main())


def test_content_type_parameters_are_ignored(backend: str) -> None:
    async def main() -> list[Any]:
        script = [
            Reply([frames(1, 1)], content_type="Text/Event-Stream; charset=windows-1252"),
            Reply(status=204),
        ]
        async with SSEServer(script) as server:
            return await collect(backend, server, retry=10)

    assert ids(run(main())) == ["1"]


def test_last_event_id_is_seeded_and_sent_as_utf8(backend: str) -> None:
    async def main() -> tuple[list[Any], SSEServer]:
        script = [Reply([b"data: a\n\n"]), Reply(status=204)]
        async with SSEServer(script) as server:
            return await collect(backend, server, retry=10, last_event_id="…7"), server

    events, server = run(main())
    assert ids(events) == ["…7"]
    raw = server.headers[0]["Last-Event-ID"]
    assert raw in ("…7", "…7".encode().decode("latin-1"))


def test_user_headers_are_sent(backend: str) -> None:
    async def main() -> SSEServer:
        async with SSEServer([Reply(status=204)]) as server:
            await collect(backend, server, headers={"Authorization": "Bearer x"})
            return server

    assert run(main()).headers[0]["Authorization"] == "Bearer x"


def test_unreachable_server_is_retried_then_the_error_raised(backend: str) -> None:
    async def main() -> None:
        server = SSEServer([])
        await server.start()
        url = server.url
        await server.stop()  # nothing listens on that port any more
        async with http_client(backend) as client:
            source = connect(client, url, retry=10, max_reconnects=2)
            with pytest.raises((httpx.TransportError, aiohttp.ClientError)):
                async for _ in source:
                    pass
            assert source.reconnects == 2

    run(main())


def test_breaking_out_closes_the_connection(backend: str) -> None:
    async def main() -> list[Any]:
        script = [Reply([frames(1, 3)], hold=30)]
        async with SSEServer(script) as server:
            return await collect(backend, server, limit=2)

    assert ids(run(main())) == ["1", "2"]


def test_aiter_events_reads_one_response(backend: str) -> None:
    async def main() -> tuple[list[Any], str]:
        decoder = sse_fast.Decoder()
        script = [Reply([frames(1, 2), b"id: 3\ndata: cut"])]
        async with SSEServer(script) as server, http_client(backend) as client:
            response: Any
            if backend == "httpx":
                async with client.stream("GET", server.url) as response:
                    events = [e async for e in aiter_events(response, decoder)]
            else:
                async with client.get(server.url) as response:
                    events = [e async for e in aiter_events(response, decoder)]
        return events, decoder.last_event_id

    events, last_event_id = run(main())
    assert ids(events) == ["1", "2"]
    assert last_event_id == "2"


def test_aiter_events_checks_the_response(backend: str) -> None:
    async def main() -> None:
        script = [Reply([b"x"], content_type="text/html")]
        async with SSEServer(script) as server, http_client(backend) as client:
            opened: Callable[[], Any] = (
                (lambda: client.stream("GET", server.url))
                if backend == "httpx"
                else (lambda: client.get(server.url))
            )
            async with opened() as response:
                with pytest.raises(EventStreamError) as info:
                    async for _ in aiter_events(response):
                        pass
                assert info.value.response is response

    run(main())


def test_connect_rejects_other_clients() -> None:
    with pytest.raises(TypeError, match=r"httpx\.AsyncClient or an aiohttp\.ClientSession"):
        connect(object(), "http://127.0.0.1:1/")  # type: ignore[arg-type]


def test_event_larger_than_max_event_size_raises_instead_of_reconnecting(backend: str) -> None:
    async def main() -> SSEServer:
        script = [Reply([b"data: " + b"x" * 1000 + b"\n\n"])]
        async with SSEServer(script) as server:
            with pytest.raises(sse_fast.EventTooLarge):
                await collect(backend, server, retry=10, max_event_size=100)
            return server

    assert len(run(main()).headers) == 1


def test_client_imports_neither_http_library_until_given_one() -> None:
    code = "import sys, sse_fast.client; print('httpx' in sys.modules, 'aiohttp' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    assert result.stdout.split() == ["False", "False"]
