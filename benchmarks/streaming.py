"""End-to-end streaming speed and memory, side by side, under uvicorn on 127.0.0.1.

    .venv/bin/python benchmarks/streaming.py [--events 100000] [--repeat 5] [--idle 1000]
        [--paced 400] [--shapes fast,burst,turn] [--memory-only]

One client reads the raw socket (HTTP/1.0, so no chunked framing to undo) and times
N W1 token events from request to last byte. Contenders: the sse_fast Starlette adapter,
the sse_fast ASGI app, sse-starlette 3.7, and a bare ASGI app sending pre-framed bytes,
one send per event (the ceiling). Memory per idle connection is the server's RSS growth
with ``--idle`` connections open, each in a fresh server.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONTENDERS = ["sse_fast-starlette", "sse_fast-asgi", "sse-starlette", "bare"]
SHAPES = {
    "fast": "yielded one at a time as fast as possible",
    "burst": "64 events available at once",
    "turn": "one event per event-loop turn (nothing to coalesce)",
}
FRAME_SIZE = len(b'data: {"token":"hello"}\n\n')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    """Return once something listens on ``port``; fail if ``process`` exits or 20 s pass."""
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"{process.args!r} does not listen on {port}")
        time.sleep(0.05)


@contextlib.contextmanager
def running(command: list[str], port: int) -> Iterator[tuple[int, int]]:
    """Start a server process (from this folder) and wait until it listens on ``port``;
    yields the port and its process id, and stops it when the block ends."""
    process = subprocess.Popen(command, cwd=HERE)
    try:
        wait_for_port(port, process)
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def uvicorn() -> contextlib.AbstractContextManager[tuple[int, int]]:
    """A uvicorn server for stream_apps."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "stream_apps:app", "--port", str(port),
               "--log-level", "warning", "--no-access-log", "--backlog", "4096"]  # fmt: skip
    return running(command, port)


Server = Callable[[], contextlib.AbstractContextManager[tuple[int, int]]]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def events_per_second(port: int, path: str, events: int) -> float:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        start = time.perf_counter()
        sock.sendall(f"GET {path}?n={events} HTTP/1.0\r\n\r\n".encode())
        received = 0
        while chunk := sock.recv(1 << 20):
            received += len(chunk)
        took = time.perf_counter() - start
    if received < events * FRAME_SIZE:
        raise RuntimeError(f"{path}: {received} bytes, expected at least {events * FRAME_SIZE}")
    return events / took


def latencies(port: int, path: str, events: int) -> list[float]:
    """Seconds from each event's making (its data) to its arrival, the last one included."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"GET {path}?n={events} HTTP/1.0\r\n\r\n".encode())
        buffer, result = b"", []
        while chunk := sock.recv(1 << 16):
            arrived = time.monotonic()
            buffer += chunk
            *frames, buffer = buffer.split(b"\n\n")
            for frame in frames:
                _, _, data = frame.rpartition(b"data: ")
                if data[:1].isdigit():
                    result.append(arrived - float(data))
    if len(result) != events:
        raise RuntimeError(f"{path}: {len(result)} events, expected {events}")
    return result


def latency(
    server: Server, contenders: list[str], events: int, repeat: int
) -> dict[str, tuple[float, float]]:
    """p50 and p99 per contender, in microseconds, over ``repeat`` interleaved runs."""
    samples: dict[str, list[float]] = {}
    with server() as (port, _):
        for _ in range(repeat):
            for contender in contenders:
                samples.setdefault(contender, []).extend(
                    latencies(port, f"/{contender}/paced", events)
                )
    result = {}
    for contender, values in samples.items():
        cuts = statistics.quantiles(values, n=100)
        result[contender] = (cuts[49] * 1e6, cuts[98] * 1e6)
    return result


def throughput(
    server: Server, contenders: list[str], shapes: Iterable[str], events: int, repeat: int
) -> dict[tuple[str, str], float]:
    """Median events/s per (contender, shape), all from one server, runs interleaved."""
    results: dict[tuple[str, str], list[float]] = {}
    with server() as (port, _):
        for contender in contenders:  # warm up every route once
            for shape in shapes:
                events_per_second(port, f"/{contender}/{shape}", 1000)
        for _ in range(repeat):  # interleaved, so noise spreads over all contenders
            for shape in shapes:
                for contender in contenders:
                    rate = events_per_second(port, f"/{contender}/{shape}", events)
                    results.setdefault((contender, shape), []).append(rate)
    return {key: statistics.median(rates) for key, rates in results.items()}


def idle_memory(server: Server, contender: str, connections: int) -> float:
    """KiB of server RSS per open, idle stream, in a fresh server."""
    with server() as (port, pid):
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


def benchmark_arguments(doc: str | None) -> argparse.Namespace:
    """``--events``, ``--repeat`` and ``--idle``; the open-files limit raised to fit."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--memory-only", action="store_true", help=MEMORY_ONLY)
    args = parser.parse_args()
    allow_open_files(args.idle)
    return args


MEMORY_ONLY = "only the memory per idle stream (no speed or latency runs)"


def allow_open_files(connections: int) -> None:
    """Raise this process's open-file limit for ``connections`` sockets (and some)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < connections + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, connections + 1000), hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--paced", type=int, default=400, help="events per latency run")
    parser.add_argument(
        "--shapes", default=",".join(SHAPES), help=f"the rows to run, some of: {','.join(SHAPES)}"
    )
    parser.add_argument("--memory-only", action="store_true", help=MEMORY_ONLY)
    args = parser.parse_args()
    allow_open_files(args.idle)
    if not args.memory_only:
        speed_and_latency(args)
    if args.idle:
        print(f"\nServer memory per idle connection ({args.idle:,} open streams, RSS growth)\n")
        print("| server | KiB per connection | vs sse-starlette |")
        print("|---|---|---|")
        contenders = ["sse_fast-asgi", "sse_fast-starlette", "sse-starlette", "bare"]
        memory = {c: idle_memory(uvicorn, c, args.idle) for c in contenders}
        for contender, kib in memory.items():
            print(f"| {contender} | {kib:.1f} | {kib / memory['sse-starlette']:.2f}x |")


def speed_and_latency(args: argparse.Namespace) -> None:
    shapes = {shape: SHAPES[shape] for shape in args.shapes.split(",")}
    rates = throughput(uvicorn, CONTENDERS, shapes, args.events, args.repeat)
    print(f"Events per second, median of {args.repeat} runs of {args.events:,} W1 events "
          f"(uvicorn {uvicorn_version()}, h11, asyncio; one raw-socket client)\n")  # fmt: skip
    print("| events | " + " | ".join(CONTENDERS) + " | sse_fast-asgi vs sse-starlette | vs bare |")
    print("|---" * (len(CONTENDERS) + 3) + "|")
    for shape, label in shapes.items():
        row = [f"{rates[c, shape]:,.0f}" for c in CONTENDERS]
        ours, peer, bare = (
            rates["sse_fast-asgi", shape],
            rates["sse-starlette", shape],
            rates["bare", shape],
        )
        print(f"| {label} | " + " | ".join(row) + f" | {ours / peer:.2f}x | {ours / bare:.2f}x |")
    if "fast" in shapes:
        starlette_ratio = rates["sse_fast-starlette", "fast"] / rates["sse-starlette", "fast"]
        print(f"\nsse_fast Starlette adapter vs sse-starlette, fastest: {starlette_ratio:.2f}x")

    if args.paced:
        lat = latency(uvicorn, CONTENDERS, args.paced, args.repeat)
        print(f"\nLatency from yield to arrival, one event every 5 ms ({args.paced} events x "
              f"{args.repeat}, last events included), microseconds\n")  # fmt: skip
        print("| server | p50 | p99 | p50 vs bare | p99 vs bare |")
        print("|---|---|---|---|---|")
        bare50, bare99 = lat["bare"]
        for contender in CONTENDERS:
            p50, p99 = lat[contender]
            versus = f"{p50 - bare50:+.0f} | {p99 - bare99:+.0f}"
            print(f"| {contender} | {p50:.0f} | {p99:.0f} | {versus} |")


def uvicorn_version() -> str:
    from importlib.metadata import version

    return version("uvicorn")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
