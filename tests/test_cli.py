"""``python -m sse_fast listen`` as a subprocess, against a live local stream."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sse_server import Reply, server_in_thread

TIMEOUT = 20  # seconds for any one line


@contextmanager
def listening(*args: str) -> Iterator[queue.Queue[str]]:
    """Run the CLI; its stdout lines arrive in the queue. It is terminated on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sse_fast", "listen", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd="/",  # import the installed package, not the work tree
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield lines
    finally:
        process.terminate()
        process.communicate(timeout=TIMEOUT)
        reader.join(TIMEOUT)


def take(lines: queue.Queue[str], count: int) -> list[str]:
    return [lines.get(timeout=TIMEOUT) for _ in range(count)]


def test_listen_prints_json_lines_and_reconnects_with_headers() -> None:
    script = [
        Reply([b"retry: 10\n", b"id: 1\ndata: one\n\n", b"id: 2\nevent: up\ndata: tw", b"o\n\n",
               b"id: 3\ndata: cut"], drop=True),
        Reply([b"id: 3\ndata: three\ndata: \xe2\x82\xac\n\n"], hold=30),
    ]  # fmt: skip
    with (
        server_in_thread(script) as server,
        listening(server.url, "--json", "-H", "X-Token: abc", "-H", "X-Other:  2 ") as lines,
    ):
        received = [json.loads(line) for line in take(lines, 3)]
    assert received == [
        {"event": "message", "id": "1", "data": "one"},
        {"event": "up", "id": "2", "data": "two"},
        {"event": "message", "id": "3", "data": "three\n€"},
    ]
    assert [h.get("Last-Event-ID") for h in server.headers] == [None, "2"]
    assert all(h["X-Token"] == "abc" and h["X-Other"] == "2" for h in server.headers)


def test_listen_prints_events_in_wire_form() -> None:
    script = [Reply([b"event: up\ndata: a\ndata: b\n\n"], hold=30)]
    with server_in_thread(script) as server, listening(server.url) as lines:
        assert take(lines, 4) == ["event: up\n", "data: a\n", "data: b\n", "\n"]


def test_listen_fails_on_a_response_that_is_not_a_stream() -> None:
    script = [Reply([b"<html>"], content_type="text/html")]
    with server_in_thread(script) as server:
        result = subprocess.run(
            [sys.executable, "-m", "sse_fast", "listen", server.url],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            cwd="/",
        )
    assert result.returncode == 1
    assert "text/html" in result.stderr


def test_bad_header_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sse_fast", "listen", "http://127.0.0.1:1/", "-H", "nocolon"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd="/",
    )
    assert result.returncode == 2
    assert "Name: value" in result.stderr
