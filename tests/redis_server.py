"""A real ``redis-server`` on 127.0.0.1 for the tests: started, killed and restarted by PID.

No persistence (``--save "" --appendonly no``), so a restart wipes the data, as the epoch
tests need. ``redis-server`` comes from Debian (``make redis``); without it the Redis
tests skip with a reason, or fail under ``CI=true``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import free_port

REDIS_SERVER = shutil.which("redis-server")


def require_redis_server() -> str:
    """The path of ``redis-server``; a skip when it is missing, a failure under ``CI=true``."""
    if REDIS_SERVER is None:
        message = "redis-server is not installed (make redis installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return REDIS_SERVER


class RedisServer:
    """One redis-server process on a fixed port, which can be killed and started again."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.binary = require_redis_server()
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.directory), "--loglevel", "warning"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while self.command("PING") != b"+PONG":
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"redis-server on port {self.port} did not start")
            time.sleep(0.01)

    def command(self, *args: str) -> bytes | None:
        """Send one command in RESP; the first line of the reply, or ``None`` if unreachable."""
        request = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(arg.encode()), arg.encode()) for arg in args
        )
        try:
            with socket.create_connection(("127.0.0.1", self.port), 1) as sock:
                sock.sendall(request)
                reply = b""
                while b"\r\n" not in reply:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return None
                    reply += chunk
                return reply.split(b"\r\n", 1)[0]
        except OSError:
            return None

    def kill(self) -> None:
        """``kill -9``: no shutdown, no goodbye to the clients."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()

    def stop(self) -> None:
        self.kill()
        self.process = None

    def restart(self) -> None:
        """``kill -9`` and start again on the same port, empty."""
        self.stop()
        self.start()


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[RedisServer]:
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
