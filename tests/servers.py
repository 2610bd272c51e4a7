"""Real servers on 127.0.0.1 in subprocesses, and a raw-socket HTTP client to read them.

Servers run with ``tests/`` as their working directory, so they import the installed
``sse_fast`` and the apps in this folder, never the work tree.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        with RawClient(self.port, "/stats", http="1.0") as client:
            return dict(json.loads(client.read_all()))

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


def server_command(kind: str, app: str, port: int) -> list[str]:
    """uvicorn, hypercorn or hypercorn-trio; "+inline" serves in hypercorn's main
    process (``--workers 0``) instead of the worker process it starts by default.
    "aiohttp" runs ``aiohttp_apps.py`` (``app`` is ignored); "aiohttp+cancel" with
    ``handler_cancellation=True``."""
    if kind.startswith("aiohttp"):
        cancel = ["--handler-cancellation"] if kind == "aiohttp+cancel" else []
        return [sys.executable, "aiohttp_apps.py", "--port", str(port), *cancel]
    if kind == "uvicorn":
        return [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1",
                "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    kind, _, mode = kind.partition("+")
    options = ["--worker-class", "trio"] if kind == "hypercorn-trio" else []
    if mode == "inline":
        options += ["--workers", "0"]
    return [sys.executable, "-m", "hypercorn", app, "--bind", f"127.0.0.1:{port}", *options]


@contextlib.contextmanager
def serve(kind: str, app: str = "apps:app", env: dict[str, str] | None = None) -> Iterator[Server]:
    """Run ``app`` under ``kind`` (see :func:`server_command`) until the block ends."""
    port = free_port()
    with running(server_command(kind, app, port), port, cwd=TESTS, env=env) as server:
        yield server


@contextlib.contextmanager
def running(
    command: list[str], port: int, *, cwd: Path, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Start ``command``, wait until it listens on ``port``; SIGTERM it when the block ends."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(
                    f"{command} did not start: {process.communicate()[1].decode()}"
                )
            time.sleep(0.05)
        yield Server(process, port)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()


class RawClient:
    """An HTTP client on a plain socket: exact bytes, and the freedom to stop reading."""

    def __init__(
        self,
        port: int,
        path: str,
        *,
        method: str = "GET",
        headers: dict[str, bytes] | None = None,
        body: bytes = b"",
        http: str = "1.1",
        receive_buffer: int | None = None,
    ) -> None:
        self.sock = socket.socket()
        if receive_buffer is not None:  # a small window makes a client that never reads stall fast
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        lines = [f"{method} {path} HTTP/{http}".encode(), b"Host: 127.0.0.1"]
        lines += [name.encode() + b": " + value for name, value in (headers or {}).items()]
        if body:
            lines.append(b"Content-Length: %d" % len(body))
        self.sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        self._raw = b""
        self._chunked = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""  # body bytes read so far (de-chunked)

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def _recv(self) -> bool:
        data = self.sock.recv(65536)
        self._raw += data
        return bool(data)

    def read_head(self) -> None:
        while b"\r\n\r\n" not in self._raw:
            if not self._recv():
                raise AssertionError(f"connection closed before the headers: {self._raw!r}")
        head, self._raw = self._raw.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        for line in header_lines:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self._chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"

    def _decode_body(self) -> bool:
        """Move complete body bytes from the raw buffer; False once the body has ended."""
        if not self._chunked:
            self.body += self._raw
            self._raw = b""
            return True
        while b"\r\n" in self._raw:
            size_line, rest = self._raw.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if len(rest) < size + 2:
                return True
            self.body += rest[:size]
            self._raw = rest[size + 2 :]
            if size == 0:
                return False
        return True

    def read_until(self, marker: bytes, timeout: float = 5.0) -> bytes:
        """Read until the body holds ``marker``; return the body so far."""
        if not self.status:
            self.read_head()
        deadline = time.monotonic() + timeout
        self._decode_body()
        while marker not in self.body:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{marker!r} not received in {timeout} s: {self.body[-300:]!r}"
                )
            self.sock.settimeout(remaining)
            if not self._recv():
                raise AssertionError(f"closed before {marker!r}: {self.body[-300:]!r}")
            self._decode_body()
        return self.body

    def read_all(self, timeout: float = 10.0) -> bytes:
        """Read until the response ends (the last chunk, or the connection closing)."""
        if not self.status:
            self.read_head()
        self.sock.settimeout(timeout)
        while self._decode_body() and self._recv():
            pass
        self._decode_body()
        return self.body

    def read_for(self, seconds: float) -> bytes:
        """Read whatever arrives in the next ``seconds``."""
        if not self.status:
            self.read_head()
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            self.sock.settimeout(remaining)
            try:
                if not self._recv():
                    break
            except TimeoutError:
                break
            self._decode_body()
        self._decode_body()
        return self.body


def wait_for(condition: Any, timeout: float, interval: float = 0.02) -> float:
    """Poll ``condition()`` until true; return the seconds it took, fail after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - start
