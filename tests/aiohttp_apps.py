"""An aiohttp server for the real-server tests: the sse_fast adapter beside aiohttp-sse.

    python aiohttp_apps.py --port 8080 [--handler-cancellation]

Run from ``tests/`` (see servers.py), so that it imports the installed ``sse_fast``.
``/stats`` reports how many handlers started and how many ran their ``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp_sse
from aiohttp import web

import sse_fast
from sse_fast.adapters import aiohttp as adapter

STATS: dict[str, Any] = {"started": 0, "finished": 0, "errors": []}
GRACE = float(os.environ.get("SSE_TEST_GRACE", "0"))
FAREWELL = sse_fast.ServerSentEvent("server going away", event="bye")

# The same sends for both libraries: every field, several lines, separators, UTF-8.
SENDS: list[tuple[str, dict[str, Any]]] = [
    ("plain", {}),
    ("multi\nline\r\ndata\rend", {"event": "update", "id": "7", "retry": 1500}),
    ("", {}),
    ("h\u00e9llo \u2713", {"id": "\u00e9v\u00e8nement"}),
    ("trailing newline\n", {"event": "t"}),
    ('{"token":"hello"}', {}),
]


def query_float(request: web.Request, name: str, default: float = 0.0) -> float:
    return float(request.query.get(name, default))


async def mixed(request: web.Request, sse_response: Any) -> web.StreamResponse:
    """The same sends through either library's ``sse_response``."""
    headers = {"X-Custom": "yes"}
    async with sse_response(request, headers=headers, ping_interval=60) as resp:
        for data, fields in SENDS:
            await resp.send(data, **fields)
    return resp  # type: ignore[no-any-return]


async def ours_mixed(request: web.Request) -> web.StreamResponse:
    return await mixed(request, adapter.sse_response)


async def theirs_mixed(request: web.Request) -> web.StreamResponse:
    return await mixed(request, aiohttp_sse.sse_response)


async def ours_iterable(request: web.Request) -> web.StreamResponse:
    return await adapter.stream(request, [adapter.ServerSentEvent(d, **f) for d, f in SENDS])


def numbered(n: int) -> sse_fast.ServerSentEvent:
    return sse_fast.ServerSentEvent(f"event {n}", event="tick", id=str(n))


def started() -> None:
    STATS["started"] += 1


def finished(error: BaseException | None = None) -> None:
    STATS["finished"] += 1
    if error is not None:
        STATS["errors"].append(type(error).__name__)


async def send_loop(request: web.Request) -> web.StreamResponse:
    """``?count=N`` events (endless without), ``?interval=S`` apart, through send()."""
    count = int(request.query.get("count", "0"))
    interval = query_float(request, "interval")
    started()
    error: BaseException | None = None
    try:
        async with adapter.sse_response(request, ping_interval=0, sep="\n") as resp:
            n = 0
            while resp.is_connected() and (not count or n < count):
                n += 1
                await resp.send_event(numbered(n))
                if interval:
                    await asyncio.sleep(interval)
    except BaseException as exc:
        error = exc
        raise
    finally:
        finished(error)
    return resp


async def iterable(request: web.Request) -> web.StreamResponse:
    """The same events as /send, from an async generator through stream()."""
    count = int(request.query.get("count", "0"))
    interval = query_float(request, "interval")

    async def events() -> AsyncIterator[sse_fast.ServerSentEvent]:
        started()
        try:
            n = 0
            while not count or n < count:
                n += 1
                yield numbered(n)
                if interval:
                    await asyncio.sleep(interval)
        finally:
            finished()

    return await adapter.stream(request, events(), ping_interval=0, sep="\n")


async def ping(request: web.Request) -> web.StreamResponse:
    interval = query_float(request, "every")
    async with adapter.sse_response(request, ping_interval=interval) as resp:
        await resp.send("ready", event="ready")
        await resp.wait()
    return resp


async def frozen(request: web.Request) -> web.StreamResponse:
    """64 KiB events as fast as the client takes them; it never does."""
    chunk = "x" * 65536
    started()
    error: BaseException | None = None
    try:
        async with adapter.sse_response(request, ping_interval=0, send_timeout=0.5) as resp:
            try:
                while True:
                    await resp.send(chunk)
            except BaseException as exc:  # the block swallows a SendTimeoutError it logged
                error = exc
                raise
    finally:
        finished(error)
    return resp


async def frozen_iterable(request: web.Request) -> web.StreamResponse:
    async def flood() -> AsyncIterator[str]:
        started()
        try:
            while True:
                yield "x" * 65536
        finally:
            finished()

    return await adapter.stream(request, flood(), ping_interval=0, send_timeout=0.5)


async def post(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    async with adapter.sse_response(request, allow_all_methods=True) as resp:
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        await resp.send(text, event="echo")
    return resp


async def get_only(request: web.Request) -> web.StreamResponse:
    async with adapter.sse_response(request) as resp:
        await resp.send("got")
    return resp


async def echo_id(request: web.Request) -> web.StreamResponse:
    async with adapter.sse_response(request) as resp:
        event_id = resp.last_event_id
        await resp.send(repr(event_id), id=event_id)
    return resp


async def bad_id(request: web.Request) -> web.StreamResponse:
    async with adapter.sse_response(request) as resp:
        try:
            await resp.send("x", id="1\n2")
        except ValueError as exc:
            await resp.send(f"refused: {exc}")
    return resp


async def forever(request: web.Request) -> web.StreamResponse:
    """Waits for the end (the client leaving, or shutdown), which ends it cleanly."""
    started()
    try:
        async with adapter.sse_response(
            request, farewell=FAREWELL, shutdown_grace_period=GRACE
        ) as resp:
            await resp.send("ready")
            await resp.wait()
        return resp
    finally:
        finished()


async def forever_iterable(request: web.Request) -> web.StreamResponse:
    async def idle() -> AsyncIterator[str]:
        started()
        try:
            yield "ready"
            await asyncio.Event().wait()
        finally:
            finished()

    return await adapter.stream(request, idle(), farewell=FAREWELL, shutdown_grace_period=GRACE)


async def latency(request: web.Request) -> web.StreamResponse:
    """Each event carries the server's clock (CLOCK_MONOTONIC, shared by processes)."""
    count = int(request.query.get("count", "5"))
    interval = query_float(request, "interval", 0.1)
    async with adapter.sse_response(request, sep="\n") as resp:
        for _ in range(count):
            await resp.send(repr(time.monotonic()))
            await asyncio.sleep(interval)
    return resp


async def stats(request: web.Request) -> web.Response:
    return web.json_response({**STATS, "pid": os.getpid(), "compiled": sse_fast.COMPILED})


def make_app() -> web.Application:
    app = web.Application()
    adapter.setup(app)
    for path, handler in {
        "/ours/mixed": ours_mixed,
        "/theirs/mixed": theirs_mixed,
        "/ours/iterable": ours_iterable,
        "/send": send_loop,
        "/iterable": iterable,
        "/ping": ping,
        "/frozen": frozen,
        "/frozen-iterable": frozen_iterable,
        "/echo-id": echo_id,
        "/bad-id": bad_id,
        "/forever": forever,
        "/forever-iterable": forever_iterable,
        "/latency": latency,
        "/stats": stats,
    }.items():
        app.router.add_get(path, handler)
    app.router.add_route("*", "/post", post)
    app.router.add_route("*", "/get-only", get_only)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--handler-cancellation", action="store_true")
    args = parser.parse_args()
    web.run_app(
        make_app(),
        host="127.0.0.1",
        port=args.port,
        print=None,
        access_log=None,
        handler_cancellation=args.handler_cancellation,
        shutdown_timeout=10,
    )


if __name__ == "__main__":
    main()
