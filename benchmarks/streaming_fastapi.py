"""FastAPI's native SSE against the sse_fast FastAPI adapter, side by side, under uvicorn.

    flock /tmp/sse_bench.lock .venv/bin/python benchmarks/streaming_fastapi.py \
        [--events 100000] [--repeat 5] [--idle 1000] [--memory-only]

The same path operation (pydantic items, declared item type) on both, in one uvicorn
server (h11, asyncio); one raw-socket client (HTTP/1.0) times N items from request to
last byte, runs interleaved, medians. Memory per idle connection is the server's RSS
growth with ``--idle`` streams open, each contender in a fresh server.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from importlib.metadata import version

from streaming import benchmark_arguments, free_port, idle_memory, running, throughput

CONTENDERS = ["sse_fast", "native"]
SHAPES = {
    "fast": "flood: yielded as fast as possible",
    "turn": "one item per event-loop turn",
}


def uvicorn_server() -> contextlib.AbstractContextManager[tuple[int, int]]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "fastapi_stream_apps:app", "--http", "h11",
               "--port", str(port), "--log-level", "warning", "--no-access-log",
               "--backlog", "4096"]  # fmt: skip
    return running(command, port)


def main() -> None:
    args = benchmark_arguments(__doc__)
    if not args.memory_only:
        speed(args)
    if args.idle:
        memory = {c: idle_memory(uvicorn_server, c, args.idle) for c in CONTENDERS}
        print(f"\nServer memory per idle stream ({args.idle:,} open, RSS growth)\n")
        print("| server | KiB per stream |")
        print("|---|---|")
        for contender, kib in memory.items():
            print(f"| {contender} | {kib:.1f} |")
        print(f"\nsse_fast / native: {memory['sse_fast'] / memory['native']:.2f}x")


def speed(args: argparse.Namespace) -> None:
    rates = throughput(uvicorn_server, CONTENDERS, SHAPES, args.events, args.repeat)
    print(f"Items per second, median of {args.repeat} runs of {args.events:,} pydantic items "
          f"(FastAPI {version('fastapi')}, uvicorn {version('uvicorn')}, h11; "
          "one raw-socket client)\n")  # fmt: skip
    print("| items | sse_fast adapter | native fastapi.sse | sse_fast vs native |")
    print("|---|---|---|---|")
    for shape, label in SHAPES.items():
        ours, native = rates["sse_fast", shape], rates["native", shape]
        print(f"| {label} | {ours:,.0f} | {native:,.0f} | {ours / native:.2f}x |")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
