"""Clients that leave and clients that freeze, under aiohttp: sse_fast vs aiohttp-sse.

    .venv/bin/python benchmarks/aiohttp_departures.py [--churn 1000] [--frozen 200]

Churn: ``--churn`` clients, 20 at a time, each reads the first event of a handler that
sends every 10 ms while ``is_connected()``, then leaves; reported: the tracebacks the
server logged and its CPU time. Frozen: ``--frozen`` raw-socket clients with a 4 KiB
receive buffer that never read a handler flooding 64 KiB events (``send_timeout=1``);
reported: the server's RSS growth while they are stuck and 2 s after the timeout, and
its tracebacks and log lines. Each library in a fresh server.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from streaming import allow_open_files, free_port, rss_kib

HERE = Path(__file__).resolve().parent
LIBRARIES = {"ours": "sse_fast", "theirs": "aiohttp-sse"}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """aiohttp_stream_apps.py in a process, its stderr kept in a file."""

    def __enter__(self) -> Server:
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        command = [sys.executable, "aiohttp_stream_apps.py", "--port", str(self.port)]
        self.process = subprocess.Popen(command, cwd=HERE, stderr=self.log)
        deadline = time.monotonic() + 20
        while not listening(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def logged(self) -> tuple[int, int]:
        """(tracebacks, lines) written to stderr so far."""
        self.log.seek(0)
        text = self.log.read().decode(errors="replace")
        return text.count("Traceback"), len(text.splitlines())


def listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


def visit(port: int, path: str) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        data = b""
        while b"\n\n" not in data.partition(b"\r\n\r\n")[2]:
            data += sock.recv(4096)


def churn(library: str, clients: int) -> tuple[int, float]:
    with Server() as server:
        visit(server.port, f"/ticks/{library}")
        time.sleep(0.5)
        cpu = cpu_seconds(server.process.pid)
        with ThreadPoolExecutor(20) as pool:
            list(pool.map(lambda _: visit(server.port, f"/ticks/{library}"), range(clients)))
        time.sleep(1.0)  # every handler has seen its client leave
        return server.logged()[0], cpu_seconds(server.process.pid) - cpu


def frozen(library: str, clients: int) -> tuple[float, float, int, int]:
    with Server() as server:
        visit(server.port, f"/ticks/{library}")
        time.sleep(0.5)
        before = rss_kib(server.process.pid)
        sockets = []
        for _ in range(clients):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", server.port))
            sock.sendall(f"GET /flood/{library} HTTP/1.0\r\n\r\n".encode())
            sockets.append(sock)
        try:
            time.sleep(0.8)
            stuck = rss_kib(server.process.pid) - before
            time.sleep(2.5)
            after = rss_kib(server.process.pid) - before
            tracebacks, lines = server.logged()
        finally:
            for sock in sockets:
                sock.close()
        return stuck / 1024, after / 1024, tracebacks, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--churn", type=int, default=1000)
    parser.add_argument("--frozen", type=int, default=200)
    args = parser.parse_args()
    allow_open_files(args.frozen)
    print(f"Churn: {args.churn:,} clients leaving a handler that sends every 10 ms\n")
    print("| library | tracebacks logged | server CPU s |")
    print("|---|---|---|")
    for library, name in LIBRARIES.items():
        tracebacks, cpu = churn(library, args.churn)
        print(f"| {name} | {tracebacks:,} | {cpu:.2f} |")
    print(f"\nFrozen: {args.frozen} clients that never read, send_timeout=1 s\n")
    print("| library | RSS growth while stuck (MiB) | 2 s after the timeout | tracebacks "
          "| log lines |")  # fmt: skip
    print("|---|---|---|---|---|")
    for library, name in LIBRARIES.items():
        stuck, after, tracebacks, lines = frozen(library, args.frozen)
        print(f"| {name} | {stuck:.1f} | {after:.1f} | {tracebacks} | {lines} |")


if __name__ == "__main__":
    main()
