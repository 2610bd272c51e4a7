"""The examples, run as a newcomer runs them: ``python examples/NAME.py`` with ``PORT`` set.

These tests need the repository (``examples/``) and, for the browser tests, Debian's
Chromium: ``tests/e2e`` is left out of the sdist (MANIFEST.in), so the wheels' test
runs never see them.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from servers import Server, free_port, running

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@contextlib.contextmanager
def run_example(script: str) -> Iterator[Server]:
    """Start ``examples/<script>`` on a free port; stop it (SIGTERM) when the block ends."""
    port = free_port()
    # Run from the repository as a newcomer would: the script's folder, not this one, is
    # on sys.path.
    command = [sys.executable, str(EXAMPLES / script)]
    with running(command, port, cwd=REPO, env={"PORT": str(port)}) as server:
        yield server
