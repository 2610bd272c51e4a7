"""Two uvicorn workers serving examples/broadcast_app.py on one real redis-server.

A raw-socket client held by each worker receives an event POSTed to either: one of
them is in the other process, so the event crossed processes through Redis. Which
worker holds a connection is read from /proc, not guessed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from redis_server import RedisServer
from servers import TESTS, RawClient, free_port, running

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc"),
]

EXAMPLES = TESTS.parent / "examples"


def tcp_sockets() -> dict[int, tuple[int, int]]:
    """Every IPv4 TCP socket of the machine: inode -> (local port, remote port)."""
    sockets = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], int(fields[9])
        sockets[inode] = (int(local.split(":")[1], 16), int(remote.split(":")[1], 16))
    return sockets


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def workers_of(pid: int) -> list[int]:
    """The worker processes of uvicorn's main process ``pid`` (not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) != pid:
                continue
            if b"resource_tracker" not in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def worker_of(client: RawClient, workers: list[int], port: int) -> int:
    """The worker process holding the server side of ``client``'s connection."""
    client_port = client.sock.getsockname()[1]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        sockets = tcp_sockets()
        wanted = {inode for inode, ends in sockets.items() if ends == (port, client_port)}
        for pid in workers:
            if wanted & socket_inodes(pid):
                return pid
        time.sleep(0.02)
    raise AssertionError(f"no worker holds the connection from port {client_port}")


def redis_connections(pid: int, redis_port: int) -> int:
    sockets = tcp_sockets()
    return sum(1 for inode in socket_inodes(pid) if sockets.get(inode, (0, 0))[1] == redis_port)


def test_an_event_posted_to_one_worker_reaches_a_client_of_the_other(
    fresh_redis: RedisServer,
) -> None:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "broadcast_app:app", "--app-dir", str(EXAMPLES),
               "--workers", "2", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning", "--no-access-log"]  # fmt: skip
    with running(command, port, cwd=TESTS, env={"REDIS_URL": fresh_redis.url}) as server:
        deadline = time.monotonic() + 20
        while len(workers := workers_of(server.process.pid)) < 2:
            assert time.monotonic() < deadline, "uvicorn did not start 2 workers"
            time.sleep(0.05)
        held: dict[int, RawClient] = {}
        try:
            # The kernel hands each connection to either worker: connect until both hold one.
            for _ in range(200):
                client = RawClient(port, "/events/room")
                client.read_head()
                assert client.status == 200
                worker = worker_of(client, workers, port)
                if worker in held:
                    client.close()
                else:
                    held[worker] = client
                if len(held) == 2:
                    break
            assert len(held) == 2, "every connection went to the same worker"
            with RawClient(port, "/publish/room", method="POST", body=b"across") as post:
                post.read_until(b".", timeout=10)
                assert post.status == 200
                event_id = post.body.decode()
            for client in held.values():
                body = client.read_until(b"data: across", timeout=10)
                assert f"id: {event_id}".encode() in body
            for worker in workers:
                assert redis_connections(worker, fresh_redis.port) == 2
        finally:
            for client in held.values():
                client.close()
