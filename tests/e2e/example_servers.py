"""The examples, run as a newcomer runs them: ``python examples/NAME.py`` with ``PORT`` set.

These tests need the repository (``examples/``) and, for the browser tests, Debian's
Chromium: ``tests/e2e`` is left out of the sdist (MANIFEST.in), so the wheels' test
runs never see them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from servers import Server, free_port

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@contextlib.contextmanager
def run_example(script: str) -> Iterator[Server]:
    """Start ``examples/<script>`` on a free port; stop it (SIGTERM) when the block ends."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / script)],
        cwd=REPO,  # as a newcomer would; the script's folder, not this one, is on sys.path
        env={**os.environ, "PORT": str(port)},
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
                raise AssertionError(f"{script} did not start: {process.communicate()[1]!r}")
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
