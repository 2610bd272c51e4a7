"""Client speed: events per second read from a live local stream, side by side.

    flock /tmp/sse_bench.lock .venv/bin/python benchmarks/client.py [--events 100000] [--repeat 5]

A server process on 127.0.0.1 answers each request with ``--events`` token events
(``id``, ``event`` and JSON ``data`` lines) as fast as the socket takes them, then
closes. Each contender opens the stream, decodes every event and touches its data;
the time runs from the request to the last event. Contenders, sync and async: sse_fast
over httpx (and its other libraries), httpx-sse 0.4 over httpx, and httpx2's own
``client.sse()``. Runs are interleaved; the table shows medians and each ratio is
sse_fast over the best peer of the same kind, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import httpx2
import httpx_sse
import requests

from sse_fast.client import connect, connect_sync

HERE = Path(__file__).resolve().parent
SERVER = r"""
import asyncio, sys

events, port = int(sys.argv[1]), int(sys.argv[2])
body = b"".join(b'id: %d\nevent: token\ndata: {"index":%d,"token":"hello"}\n\n' % (i, i)
                for i in range(events))
head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
        b"Connection: close\r\n\r\n")

async def serve(reader, writer):
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    try:
        writer.write(head)
        for start in range(0, len(body), 65536):
            writer.write(body[start:start + 65536])
            await writer.drain()
    except ConnectionError:
        pass  # a client that stopped early; its count will say so
    writer.close()

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", port)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(events: int) -> Any:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(events), str(port)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the benchmark server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/events"
    finally:
        process.terminate()
        process.wait(10)


# Each contender reads the whole stream through a client made beforehand (making one
# costs milliseconds, which is not what is measured) and returns the events it decoded.


def sse_fast_sync(client: Any, url: str) -> int:
    with connect_sync(client, url, max_reconnects=0) as source:
        return sum(1 for event in source if event.data)


def httpx_sse_sync(client: httpx.Client, url: str) -> int:
    with httpx_sse.connect_sse(client, "GET", url) as source:
        return sum(1 for event in source.iter_sse() if event.data)


def httpx2_sse_sync(client: httpx2.Client, url: str) -> int:
    with client.sse(url) as source:
        return sum(1 for event in source if event.data)


async def sse_fast_async(client: Any, url: str) -> int:
    async with connect(client, url, max_reconnects=0) as source:
        return sum([1 async for event in source if event.data])


async def httpx_sse_async(client: httpx.AsyncClient, url: str) -> int:
    async with httpx_sse.aconnect_sse(client, "GET", url) as source:
        return sum([1 async for event in source.aiter_sse() if event.data])


async def httpx2_sse_async(client: httpx2.AsyncClient, url: str) -> int:
    async with client.sse(url) as source:
        return sum([1 async for event in source if event.data])


# name: (reader, which client it reads through)
SYNC: dict[str, tuple[Callable[[Any, str], int], str]] = {
    "sse_fast (httpx)": (sse_fast_sync, "httpx"),
    "sse_fast (httpx2)": (sse_fast_sync, "httpx2"),
    "sse_fast (requests)": (sse_fast_sync, "requests"),
    "httpx-sse 0.4.3 (httpx)": (httpx_sse_sync, "httpx"),
    "httpx2 2.16 .sse()": (httpx2_sse_sync, "httpx2"),
}
ASYNC: dict[str, tuple[Callable[[Any, str], Awaitable[int]], str]] = {
    "sse_fast (httpx)": (sse_fast_async, "httpx"),
    "sse_fast (httpx2)": (sse_fast_async, "httpx2"),
    "sse_fast (aiohttp)": (sse_fast_async, "aiohttp"),
    "httpx-sse 0.4.3 (httpx)": (httpx_sse_async, "httpx"),
    "httpx2 2.16 .sse()": (httpx2_sse_async, "httpx2"),
}
PEERS = ("httpx-sse 0.4.3 (httpx)", "httpx2 2.16 .sse()")


def checked(count: int, events: int) -> None:
    if count != events:
        raise AssertionError(f"decoded {count} events, expected {events}")


def sync_round(url: str, events: int, rates: dict[tuple[str, str], list[float]]) -> None:
    with httpx.Client() as plain, httpx2.Client() as second, requests.Session() as session:
        clients: dict[str, Any] = {"httpx": plain, "httpx2": second, "requests": session}
        for name, (read, library) in SYNC.items():
            start = time.perf_counter()
            checked(read(clients[library], url), events)
            rates.setdefault(("sync", name), []).append(events / (time.perf_counter() - start))


async def async_round(url: str, events: int, rates: dict[tuple[str, str], list[float]]) -> None:
    async with (
        httpx.AsyncClient() as plain,
        httpx2.AsyncClient() as second,
        aiohttp.ClientSession() as session,
    ):
        clients: dict[str, Any] = {"httpx": plain, "httpx2": second, "aiohttp": session}
        for name, (read, library) in ASYNC.items():
            start = time.perf_counter()
            checked(await read(clients[library], url), events)
            rates.setdefault(("async", name), []).append(events / (time.perf_counter() - start))


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--events", type=int, default=100_000)
    options.add_argument("--repeat", type=int, default=5)
    args = options.parse_args()
    rates: dict[tuple[str, str], list[float]] = {}
    with server(args.events) as url:
        for _ in range(args.repeat):
            sync_round(url, args.events, rates)
            asyncio.run(async_round(url, args.events, rates))
    medians = {key: statistics.median(values) for key, values in rates.items()}
    print(f"Events per second read from a local stream, median of {args.repeat} interleaved "
          f"runs of {args.events:,} events\n")  # fmt: skip
    print("| client | sync | async |")
    print("|---|---|---|")
    for name in dict.fromkeys([*SYNC, *ASYNC]):
        cells = [f"{medians[kind, name]:,.0f}" if (kind, name) in medians else "—"
                 for kind in ("sync", "async")]  # fmt: skip
        print(f"| {name} | " + " | ".join(cells) + " |")
    for kind in ("sync", "async"):
        best_peer = max(medians[kind, peer] for peer in PEERS)
        ours = medians[kind, "sse_fast (httpx)"]
        print(f"\n{kind}: sse_fast (httpx) / best peer = {ours / best_peer:.2f}x")


if __name__ == "__main__":
    main()
