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

import contextlib
import os
import sys
from importlib.metadata import version
from pathlib import Path

from streaming import benchmark_arguments, free_port, idle_memory, running, throughput

HERE = Path(__file__).resolve().parent
CONTENDERS = ["sse_fast-send", "sse_fast-stream", "aiohttp-sse", "bare"]
SHAPES = {
    "fast": "sent one at a time as fast as possible",
    "burst": "64 events, then a yield to the loop",
    "turn": "a yield to the loop after every event (nothing to coalesce)",
}


def aiohttp_server() -> contextlib.AbstractContextManager[tuple[int, int]]:
    """A server for aiohttp_stream_apps."""
    port = free_port()
    return running([sys.executable, "aiohttp_stream_apps.py", "--port", str(port)], port)


def main() -> None:
    args = benchmark_arguments(__doc__)

    if not args.memory_only:
        rates = throughput(aiohttp_server, CONTENDERS, SHAPES, args.events, args.repeat)
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
                ratios += [
                    f"{rates[ours, shape] / peer:.2f}x",
                    f"{rates[ours, shape] / ceiling:.2f}x",
                ]
            print(f"| {label} | " + " | ".join(row + ratios) + " |")

    if args.idle:
        print(f"\nServer memory per idle connection ({args.idle:,} open streams, RSS growth)\n")
        print("| server | KiB per connection | vs aiohttp-sse |")
        print("|---|---|---|")
        memory = {c: idle_memory(aiohttp_server, c, args.idle) for c in CONTENDERS}
        for contender, kib in memory.items():
            print(f"| {contender} | {kib:.1f} | {kib / memory['aiohttp-sse']:.2f}x |")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
