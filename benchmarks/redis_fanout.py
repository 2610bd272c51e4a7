"""Across processes through Redis: publish -> client receipt latency and sustained rate.

    flock /tmp/sse_bench.lock .venv/bin/python benchmarks/redis_fanout.py [--repeat 3]

Starts its own redis-server on a free port. For each contender a server process
(uvicorn, one worker) holds the SSE stream of one topic, a client process reads it on a
raw socket, and this process publishes; every event carries its CLOCK_MONOTONIC
publish stamp, so the client's receipt time minus it is the latency (the clock is the
machine's, shared by all processes).

* ``sse_fast``: examples/broadcast_app.py on ``RedisBackend``; published with
  ``Broker.publish`` (one Lua call: stream + PUBLISH).
* ``broadcaster``: encode/broadcaster 0.3's Redis backend + sse-starlette 3.7
  (benchmarks/redis_apps.py); published with ``Broadcast.publish`` (a PUBLISH).
* ``redis-py``: the floor: a bare redis-py PUBLISH, read by a redis-py subscriber
  process (no HTTP, no SSE).

"paced": 1,000 events/s for ``--seconds``; latency p50/p99 over them. "burst":
``--burst`` events as fast as ``--publishers`` concurrent coroutines (each awaiting its
publishes) get them out; the rate is events over the time from the first publish to the
client's last receipt. Each run is repeated and the medians are shown. Redis connections
per server process are counted from /proc with
``--clients`` SSE clients connected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from streaming import free_port, wait_for_port

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
TOPIC = "bench"
CONTENDERS = ["sse_fast", "broadcaster", "redis-py"]


@contextlib.contextmanager
def process(command: list[str], port: int | None = None, **env: str) -> Iterator[int]:
    """Run ``command`` (from this folder) until the block ends; yields its pid."""
    child = subprocess.Popen(command, cwd=HERE, env={**os.environ, **env})
    try:
        if port is not None:
            wait_for_port(port, child)
        yield child.pid
    finally:
        child.terminate()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextlib.contextmanager
def quiet_process(command: list[str], port: int) -> Iterator[int]:
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, child)
        yield child.pid
    finally:
        child.kill()
        child.wait()


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is needed: make redis")
    port = free_port()
    with tempfile.TemporaryDirectory() as directory, quiet_process(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly",
         "no", "--dir", directory, "--loglevel", "warning"],
        port,
    ):  # fmt: skip
        yield f"redis://127.0.0.1:{port}/0"


@contextlib.contextmanager
def sse_server(contender: str, url: str) -> Iterator[tuple[int, int]]:
    port = free_port()
    if contender == "sse_fast":
        app, env = ["broadcast_app:app", "--app-dir", str(EXAMPLES)], {"REDIS_URL": url}
    else:
        app, env = ["redis_apps:broadcaster_app"], {"BENCH_REDIS_URL": url}
    command = [sys.executable, "-m", "uvicorn", *app, "--host", "127.0.0.1", "--port",
               str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    with process(command, port, **env) as pid:
        yield port, pid


# The client and subscriber processes ----------------------------------------------------


def read_sse(port: int, count: int) -> list[int]:
    """Read ``/events/bench`` until ``count`` data lines came; their latencies in ns."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(f"GET /events/{TOPIC} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(65536)
    buffer = buffer.split(b"\r\n\r\n", 1)[1]
    print("ready", flush=True)
    latencies: list[int] = []
    while len(latencies) < count:
        chunk = sock.recv(262144)
        now = time.monotonic_ns()
        if not chunk:
            break
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        latencies.extend(now - int(line[6:]) for line in lines if line.startswith(b"data: "))
    return latencies


def read_redis(url: str, count: int) -> list[int]:
    """A bare redis-py subscriber: latencies in ns of ``count`` messages."""
    import redis

    client = redis.Redis.from_url(url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    pubsub.subscribe(TOPIC)
    while pubsub.get_message(timeout=1.0) is None and not pubsub.subscribed:
        pass
    print("ready", flush=True)
    latencies: list[int] = []
    while len(latencies) < count:
        message = pubsub.get_message(timeout=10.0)
        if message is not None:
            latencies.append(time.monotonic_ns() - int(message["data"]))
    pubsub.close()
    client.close()
    return latencies


# The publishers --------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def publisher(contender: str, url: str) -> Any:
    """An async ``publish(bytes)`` for ``contender``."""
    if contender == "sse_fast":
        from sse_fast.broadcast import Broker, RedisBackend

        async with Broker(RedisBackend.from_url(url)) as broker:

            async def publish(data: bytes) -> None:
                await broker.publish(TOPIC, data)

            yield publish
    elif contender == "broadcaster":
        from broadcaster import Broadcast

        broadcast = Broadcast(url)
        await broadcast.connect()
        try:

            async def publish(data: bytes) -> None:
                await broadcast.publish(TOPIC, data.decode())

            yield publish
        finally:
            await broadcast.disconnect()
    else:
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(url)
        try:

            async def publish(data: bytes) -> None:
                await client.publish(TOPIC, data)

            yield publish
        finally:
            await client.aclose()


async def paced(publish: Callable[[bytes], Awaitable[None]], count: int, rate: float) -> None:
    start = time.monotonic()
    for n in range(count):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await publish(b"%d" % time.monotonic_ns())


async def burst(publish: Callable[[bytes], Awaitable[None]], count: int, publishers: int) -> None:
    async def publisher(share: int) -> None:
        for _ in range(share):
            await publish(b"%d" % time.monotonic_ns())

    shares = [count // publishers + (n < count % publishers) for n in range(publishers)]
    await asyncio.gather(*(publisher(share) for share in shares))


def wait_for_subscriber(url: str, channel: str) -> None:
    import redis

    with redis.Redis.from_url(url) as client:
        deadline = time.monotonic() + 10
        while not client.pubsub_numsub(channel)[0][1]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nobody subscribed to {channel}")
            time.sleep(0.01)


def run_once(
    contender: str, url: str, mode: str, count: int, publishers: int = 1
) -> dict[str, float]:
    """One measurement: the reader process, then the publisher here."""

    @contextlib.contextmanager
    def reader_and_server() -> Iterator[subprocess.Popen[bytes]]:
        with contextlib.ExitStack() as stack:
            if contender == "redis-py":
                args = ["--read-redis", url]
            else:
                port, _ = stack.enter_context(sse_server(contender, url))
                args = ["--read-sse", str(port)]
            reader = subprocess.Popen(
                [sys.executable, __file__, *args, "--count", str(count)],
                stdout=subprocess.PIPE,
                cwd=HERE,
            )
            try:
                assert reader.stdout is not None
                assert reader.stdout.readline().strip() == b"ready"
                # broadcaster subscribes only once sse-starlette iterates, after the headers.
                wait_for_subscriber(url, "sse:{bench}:c" if contender == "sse_fast" else TOPIC)
                yield reader
            finally:
                if reader.poll() is None:
                    reader.kill()
                reader.wait()

    with reader_and_server() as reader:

        async def publish_all() -> int:
            async with publisher(contender, url) as publish:
                started = time.monotonic_ns()
                if mode == "paced":
                    await paced(publish, count, 1000.0)
                else:
                    await burst(publish, count, publishers)
                return started

        started = asyncio.run(publish_all())
        assert reader.stdout is not None
        output, _ = reader.communicate(timeout=120)
    received = json.loads(output)
    latencies, last = received["latencies"], received["last"]
    if len(latencies) != count:
        raise RuntimeError(f"{contender}: {len(latencies)} of {count} events arrived")
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "p50_us": statistics.median(latencies) / 1e3,
        "p99_us": quantiles[98] / 1e3,
        "rate": count / ((last - started) / 1e9),
    }


def connections_per_server(contender: str, url: str, clients: int) -> int:
    """Redis connections held by the server process with ``clients`` SSE clients."""
    redis_port = int(url.rsplit(":", 1)[1].split("/")[0])
    with sse_server(contender, url) as (port, pid):
        sockets = []
        for _ in range(clients):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(f"GET /events/{TOPIC} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
            sockets.append(sock)
        for sock in sockets:
            sock.recv(1024)  # the headers: the subscription is in force
        time.sleep(0.5)
        inodes = {
            int(os.readlink(fd)[8:-1])
            for fd in Path(f"/proc/{pid}/fd").iterdir()
            if os.readlink(fd).startswith("socket:[")
        }
        count = 0
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[9]) in inodes and int(fields[2].split(":")[1], 16) == redis_port:
                count += 1
        for sock in sockets:
            sock.close()
        return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="of the paced run")
    parser.add_argument("--burst", type=int, default=10000, help="events of the burst run")
    parser.add_argument("--publishers", type=int, default=16, help="concurrent, in the burst")
    parser.add_argument("--clients", type=int, default=100, help="for the connection count")
    parser.add_argument("--read-sse", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--read-redis", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read_sse is not None:
        latencies = read_sse(args.read_sse, args.count)
        print(json.dumps({"latencies": latencies, "last": time.monotonic_ns()}))
        return
    if args.read_redis is not None:
        latencies = read_redis(args.read_redis, args.count)
        print(json.dumps({"latencies": latencies, "last": time.monotonic_ns()}))
        return

    results: dict[str, dict[str, list[float]]] = {c: {} for c in CONTENDERS}
    with redis_server() as url:
        for _ in range(args.repeat):  # interleaved, so drift hits every contender alike
            for contender in CONTENDERS:
                paced_run = run_once(contender, url, "paced", int(args.seconds * 1000))
                burst_run = run_once(contender, url, "burst", args.burst, args.publishers)
                for key, value in (
                    ("p50_us", paced_run["p50_us"]),
                    ("p99_us", paced_run["p99_us"]),
                    ("rate", burst_run["rate"]),
                ):
                    results[contender].setdefault(key, []).append(value)
        links = {c: connections_per_server(c, url, args.clients) for c in CONTENDERS[:2]}

    medians = {c: {k: statistics.median(v) for k, v in r.items()} for c, r in results.items()}
    floor = medians["redis-py"]
    print(f"\nmedians of {args.repeat} runs; paced 1,000 events/s for {args.seconds} s, "
          f"burst {args.burst} events from {args.publishers} concurrent publishers\n")  # fmt: skip
    print("| contender | p50 | p99 | p99 / redis-py's | sustained events/s | Redis conns |")
    print("|---|---|---|---|---|---|")
    for contender in CONTENDERS:
        m = medians[contender]
        conns = links.get(contender)
        print(
            f"| {contender} | {m['p50_us']:.0f} µs | {m['p99_us']:.0f} µs | "
            f"{m['p99_us'] / floor['p99_us']:.2f}x | {m['rate']:,.0f} | "
            f"{'-' if conns is None else f'{conns} ({args.clients} clients)'} |"
        )


if __name__ == "__main__":
    main()
