"""sse_fast.testing: in-process streams of the project's own apps (ASGI, Starlette,
FastAPI, aiohttp) that never end, read for N events or until a deadline."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp_apps
import anyio
import apps
import pytest

from sse_fast.client import Event
from sse_fast.testing import stream

T = TypeVar("T")
TIMEOUT = 20


def run(main: Callable[[], Awaitable[T]], backend: str = "asyncio") -> T:
    async def bounded() -> T:
        with anyio.fail_after(TIMEOUT):
            return await main()

    return anyio.run(bounded, backend=backend)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_endless_asgi_stream_is_read_for_n_events_then_left(backend: str) -> None:
    before = dict(apps.STATS)

    async def main() -> list[Event]:
        async with stream(apps.app, "/events") as response:
            assert response.status == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            return await response.events(3)

    events = run(main, backend)
    assert [event.id for event in events] == ["1", "2", "3"]
    assert events[0] == Event("event 1\nsecond line", "tick", "1")
    # The generator was closed when the test left, not left running.
    assert apps.STATS["finished"] - before["finished"] == 1


def test_a_deadline_ends_the_wait_for_events_that_do_not_come() -> None:
    async def main() -> tuple[list[Event], float]:
        async with stream(apps.app, "/forever") as response:
            start = time.monotonic()
            events = await response.events(5, timeout=0.3)
            return events, time.monotonic() - start

    events, waited = run(main)
    assert [event.data for event in events] == ["ready"]
    assert 0.3 <= waited < 5


def test_events_are_read_as_they_are_sent_not_after_the_body() -> None:
    async def main() -> tuple[list[Event], list[Event]]:
        async with stream(apps.app, "/events", params={"interval": "0.05"}) as response:
            first = await response.events(1)
            second = await response.events(2)
            return first, second

    first, second = run(main)
    assert [e.id for e in first + second] == ["1", "2", "3"]


def test_last_event_id_header_reaches_the_app() -> None:
    async def main() -> list[Event]:
        headers = {"Last-Event-ID": "41"}
        async with stream(apps.app, "/events", headers=headers, params={"count": "2"}) as r:
            return await r.events()

    assert [event.id for event in run(main)] == ["42", "43"]


def test_a_finite_stream_is_read_to_its_end() -> None:
    async def main() -> tuple[list[Event], bool]:
        async with stream(apps.app, "/events", params={"count": "2"}) as response:
            events = await response.events()
            return events, response.ended

    events, ended = run(main)
    assert [event.id for event in events] == ["1", "2"]
    assert ended


def test_post_body_and_204() -> None:
    async def main() -> tuple[Any, int, list[Event]]:
        body = json.dumps({"q": "why?"}).encode()
        headers = {"Content-Type": "application/json"}
        async with stream(apps.app, "/post", method="POST", body=body, headers=headers) as r:
            echoed = (await r.events(1))[0].json()
        async with stream(apps.app, "/no-content") as r:
            return echoed, r.status, await r.events()

    echoed, status, events = run(main)
    assert echoed == {"q": "why?"}
    assert (status, events) == (204, [])


def test_starlette_endless_stream_with_custom_headers() -> None:
    async def main() -> tuple[list[Event], str]:
        async with stream(apps.starlette_app, "/endless") as response:
            return await response.events(2), response.headers["x-custom"]

    events, custom = run(main)
    assert [event.data for event in events] == ["1", "2"]
    assert custom == "yes"


def test_read_until_gives_the_bytes_as_framed() -> None:
    async def main() -> bytes:
        async with stream(apps.fastapi_app, "/tokens") as response:
            return await response.read_until(b"[DONE]")

    body = run(main)
    assert b'event: token\r\ndata: {"token":"Hel"}\r\n\r\n' in body.replace(b"\n", b"\r\n").replace(
        b"\r\r", b"\r"
    )


def test_read_until_names_the_marker_when_it_does_not_come() -> None:
    async def main() -> None:
        async with stream(apps.app, "/forever") as response:
            await response.read_until(b"never", timeout=0.2)

    with pytest.raises(TimeoutError, match=r"b'never' not received in 0\.2 s"):
        run(main)


def test_aiohttp_endless_stream_is_read_then_left() -> None:
    before = aiohttp_apps.STATS["finished"]

    async def main() -> list[Event]:
        async with stream(aiohttp_apps.make_app(), "/iterable") as response:
            assert response.status == 200
            return await response.events(3)

    events = run(main)
    assert [event.id for event in events] == ["1", "2", "3"]
    assert aiohttp_apps.STATS["finished"] - before == 1


def test_an_exception_in_the_app_is_raised() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise LookupError("no such stream")

    async def main() -> None:
        async with stream(broken, "/"):
            pass

    with pytest.raises(LookupError, match="no such stream"):
        run(main)


def test_an_app_that_ignores_the_disconnect_is_cancelled() -> None:
    cancelled = []

    async def stubborn(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> None:
        async with stream(stubborn, "/", close_timeout=0.1):
            pass

    run(main)
    assert cancelled == [True]


def test_an_app_that_never_starts_is_a_timeout() -> None:
    async def silent(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(3600)

    async def main() -> None:
        async with stream(silent, "/", start_timeout=0.1, close_timeout=0.1):
            pass

    with pytest.raises(TimeoutError, match=r"did not start a response in 0\.1 s"):
        run(main)


def test_bad_path_is_named() -> None:
    async def main() -> None:
        async with stream(apps.app, "events"):
            pass

    with pytest.raises(ValueError, match="path must start with '/', got 'events'"):
        run(main)
