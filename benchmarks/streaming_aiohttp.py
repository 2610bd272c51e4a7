"""End-to-end streaming speed and memory under aiohttp, side by side, on 127.0.0.1.

    .venv/bin/python benchmarks/streaming_aiohttp.py [--events 100000] [--repeat 5] [--idle 1000]

One client reads the raw socket (HTTP/1.0, so no chunked framing to undo) and times
N W1 token events from request to last byte. Contenders: the sse_fast aiohttp adapter
through ``send()`` and through ``stream()`` (an async generator), aiohttp-sse 3.0 through
``send()``, and a bare ``StreamResponse`` writing pre-framed bytes, one write per event.
Memory per idle connection is the server's RSS growth with ``--idle`` connections open,
each contender in a fresh server.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

from streaming import events_per_second, free_port, rss_kib

HERE = Path(__file__).resolve().parent
CONTENDERS = ["sse_fast-send", "sse_fast-stream", "aiohttp-sse", "bare"]
SHAPES = {
    "fast": "sent one at a time as fast as possible",
    "burst": "64 events, then a yield to the loop",
    "turn": "a yield to the loop after every event (nothing to coalesce)",
}


@contextlib.contextmanager
def aiohttp_server() -> Iterator[tuple[int, int]]:
    """A server for aiohttp_stream_apps; yields its port and process id."""
    port = free_port()
    command = [sys.executable, "aiohttp_stream_apps.py", "--port", str(port)]
    process = subprocess.Popen(command, cwd=HERE)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the aiohttp server did not start")
            time.sleep(0.05)
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def throughput(events: int, repeat: int) -> dict[tuple[str, str], float]:
    results: dict[tuple[str, str], list[float]] = {}
    with aiohttp_server() as (port, _):
        for contender in CONTENDERS:  # warm up every route once
            for shape in SHAPES:
                events_per_second(port, f"/{contender}/{shape}", 1000)
        for _ in range(repeat):  # interleaved, so noise spreads over all contenders
            for shape in SHAPES:
                for contender in CONTENDERS:
                    rate = events_per_second(port, f"/{contender}/{shape}", events)
                    results.setdefault((contender, shape), []).append(rate)
    return {key: statistics.median(rates) for key, rates in results.items()}


def idle_memory(contender: str, connections: int) -> float:
    """KiB of server RSS per open, idle stream."""
    with aiohttp_server() as (port, pid):
        for _ in range(20):
            events_per_second(port, f"/{contender}/fast", 100)
        before = rss_kib(pid)
        sockets = []
        try:
            for _ in range(connections):
                sock = socket.create_connection(("127.0.0.1", port))
                sock.sendall(f"GET /{contender}/idle HTTP/1.0\r\n\r\n".encode())
                sockets.append(sock)
            for sock in sockets:  # every stream has started and sent its first event
                data = b""
                while b'{"token":"hello"}' not in data:
                    data += sock.recv(4096)
            time.sleep(0.5)
            return (rss_kib(pid) - before) / connections
        finally:
            for sock in sockets:
                sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--idle", type=int, default=1000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.idle + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.idle + 1000), hard))

    rates = throughput(args.events, args.repeat)
    print(f"Events per second, median of {args.repeat} runs of {args.events:,} W1 events "
          f"(aiohttp {version('aiohttp')}, aiohttp-sse {version('aiohttp-sse')}; "
          "one raw-socket client)\n")  # fmt: skip
    print("| events | " + " | ".join(CONTENDERS) + " | send() vs aiohttp-sse | vs bare "
          "| stream() vs aiohttp-sse | vs bare |")  # fmt: skip
    print("|---" * (len(CONTENDERS) + 5) + "|")
    for shape, label in SHAPES.items():
        row = [f"{rates[c, shape]:,.0f}" for c in CONTENDERS]
        peer, ceiling = rates["aiohttp-sse", shape], rates["bare", shape]
        ratios = []
        for ours in ("sse_fast-send", "sse_fast-stream"):
            ratios += [f"{rates[ours, shape] / peer:.2f}x", f"{rates[ours, shape] / ceiling:.2f}x"]
        print(f"| {label} | " + " | ".join(row + ratios) + " |")

    if args.idle:
        print(f"\nServer memory per idle connection ({args.idle:,} open streams, RSS growth)\n")
        print("| server | KiB per connection | vs aiohttp-sse |")
        print("|---|---|---|")
        memory = {contender: idle_memory(contender, args.idle) for contender in CONTENDERS}
        for contender, kib in memory.items():
            print(f"| {contender} | {kib:.1f} | {kib / memory['aiohttp-sse']:.2f}x |")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
