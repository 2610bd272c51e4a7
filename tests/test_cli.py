"""``python -m sse_fast listen`` as a subprocess, against live local streams."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from servers import free_port
from sse_server import Reply, server_in_thread

TIMEOUT = 20  # seconds for any one line or run
CLI = [sys.executable, "-m", "sse_fast", "listen"]


def run_cli(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd="/",  # import the installed package, not the work tree
        input=None if input is None else input.decode(),
    )


@contextmanager
def listening(*args: str) -> Iterator[queue.Queue[str]]:
    """Run the CLI; its stdout lines arrive in the queue. It is terminated on exit."""
    process = subprocess.Popen(
        [*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/"
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


def test_raw_prints_the_bytes_as_received() -> None:
    body = b"retry: 10\r\n: comment\r\ndata: x\r\n\r\n"
    with server_in_thread([Reply([body]), Reply(status=204)]) as server:
        result = subprocess.run(
            [*CLI, server.url, "--raw"], capture_output=True, timeout=TIMEOUT, cwd="/"
        )
    assert result.returncode == 0
    assert result.stdout == body


def test_204_ends_with_status_0() -> None:
    with server_in_thread([Reply([b"data: a\n\n"]), Reply(status=204)]) as server:
        result = run_cli(server.url, "--retry", "10")
    assert (result.returncode, result.stdout) == (0, "event: message\ndata: a\n\n")
    assert "the stream ended; reconnecting (attempt 1) in 0.0 s" in result.stderr


def test_http_error_exits_3_and_shows_the_body() -> None:
    script = [Reply([b'{"detail": "bad token"}'], status=401, content_type="application/json")]
    with server_in_thread(script) as server:
        result = run_cli(server.url)
    assert result.returncode == 3
    assert "status 401" in result.stderr
    assert '{"detail": "bad token"}' in result.stderr
    assert "Traceback" not in result.stderr


def test_a_response_that_is_not_a_stream_exits_3() -> None:
    with server_in_thread([Reply([b"<html>"], content_type="text/html")]) as server:
        result = run_cli(server.url)
    assert result.returncode == 3
    assert "text/html" in result.stderr


def test_dead_port_with_no_reconnects_fails_fast_with_a_message() -> None:
    start = time.monotonic()
    result = run_cli(f"http://127.0.0.1:{free_port()}/", "--max-reconnects", "0")
    elapsed = time.monotonic() - start
    assert result.returncode == 1
    assert "giving up" in result.stderr
    assert "Connection refused" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 5  # generous: interpreter start-up included; measured about 0.3 s


def test_dead_port_retries_are_announced_on_stderr() -> None:
    result = run_cli(f"http://127.0.0.1:{free_port()}/", "--retry", "10", "--max-reconnects", "2")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("sse_fast: could not connect: ")
    assert "reconnecting (attempt 1 of 2) in " in lines[0]
    assert "reconnecting (attempt 2 of 2) in " in lines[1]
    assert "giving up" in lines[2]


def test_lost_connection_after_max_reconnects_exits_1() -> None:
    script = [Reply([b"retry: 10\ndata: a\n\n"], drop=True)]
    with server_in_thread(script) as server:
        result = run_cli(server.url, "--max-reconnects", "1", "--json")
    assert result.returncode == 1
    assert result.stdout.count('"data": "a"') == 2
    assert "connection lost" in result.stderr


def test_idle_timeout_reconnects_a_silent_stream() -> None:
    script = [Reply([b"retry: 10\nid: 1\ndata: a\n\n"], hold=30), Reply(status=204)]
    with server_in_thread(script) as server:
        result = run_cli(server.url, "--idle-timeout", "0.3")
    assert result.returncode == 0
    assert "no byte for 0.3 s" in result.stderr
    assert server.headers[1]["Last-Event-ID"] == "1"


def test_closed_pipe_exits_cleanly() -> None:
    script = [Reply([b"data: %d\n\n" % i for i in range(50)], pause=0.01, hold=30)]
    with server_in_thread(script) as server:
        pipeline = f"{sys.executable} -m sse_fast listen --json {server.url} | head -1"
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", pipeline],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            cwd="/",
        )
    assert result.stdout == '{"event": "message", "id": "", "data": "0"}\n'
    assert result.stderr == ""
    assert result.returncode == 0


def test_post_data_and_json_body() -> None:
    with server_in_thread([Reply([b"data: ok\n\n"])]) as server:
        result = run_cli(server.url, "-d", "a=1", "--max-reconnects", "0")
        assert result.returncode == 0
        result = run_cli(server.url, "--json-body", '{"q": 1}', "--max-reconnects", "0")
        assert result.returncode == 0
        result = run_cli(server.url, "-X", "PUT", "-d", "@-", "--max-reconnects", "0",
                         input=b"from stdin")  # fmt: skip
        assert result.returncode == 0
    assert [h.get("Content-Type") == "application/json" for h in server.headers] == [
        False,
        True,
        False,
    ]
    assert server.headers[0]["Content-Length"] == "3"
    assert server.headers[2]["Content-Length"] == "10"


def test_bad_arguments_are_usage_errors() -> None:
    for args, message in [
        (["-H", "nocolon"], "Name: value"),
        (["--json-body", "{nope"], "not JSON"),
        (["--max-reconnects", "-1"], "expected a whole number >= 0"),
        (["--idle-timeout", "0"], "expected seconds > 0"),
        (["-d", "x", "--json-body", "{}"], "not allowed with"),
        (["--raw", "--json"], "not allowed with"),
    ]:
        result = run_cli("http://127.0.0.1:1/", *args)
        assert result.returncode == 2, args
        assert message in result.stderr, args


def test_interrupt_exits_130() -> None:
    import signal

    with server_in_thread([Reply([b"data: a\n\n"], hold=30)]) as server:
        process = subprocess.Popen(
            [*CLI, server.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/"
        )
        try:
            assert process.stdout is not None
            assert process.stdout.readline() == "event: message\n"
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 130
    assert "Traceback" not in stderr


def run_cli_without(hidden: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in an interpreter where the ``hidden`` libraries cannot be imported."""
    code = (
        "import sys\n"
        f"for name in {hidden!r}: sys.modules[name] = None\n"
        "from sse_fast.__main__ import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, "listen", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd="/",
    )


@pytest.mark.parametrize("hidden", [["httpx"], ["httpx", "requests"]], ids=["requests", "aiohttp"])
def test_fallback_libraries_stream_post_and_fail_alike(hidden: list[str]) -> None:
    script = [Reply([b"retry: 10\nid: 1\ndata: a\n\n"]), Reply(status=204)]
    with server_in_thread(script) as server:
        result = run_cli_without(hidden, server.url, "--json-body", "[1]", "--idle-timeout", "5")
    assert (result.returncode, result.stdout) == (0, "id: 1\nevent: message\ndata: a\n\n")
    assert server.headers[0]["Content-Type"] == "application/json"
    assert server.headers[1]["Last-Event-ID"] == "1"
    script = [Reply([b"nope"], status=401, content_type="text/plain")]
    with server_in_thread(script) as server:
        result = run_cli_without(hidden, server.url, "--raw")
    assert result.returncode == 3
    assert "nope" in result.stderr
    result = run_cli_without(hidden, f"http://127.0.0.1:{free_port()}/", "--max-reconnects", "0")
    assert result.returncode == 1
    assert "giving up" in result.stderr


def test_raw_with_aiohttp_prints_the_bytes() -> None:
    body = b"data: x\n\n: c\n\nretry: 0\n"  # text mode: CR is checked by the bytes test above
    with server_in_thread([Reply([body]), Reply(status=204)]) as server:
        result = run_cli_without(["httpx", "requests"], server.url, "--raw", "--retry", "0")
    assert result.returncode == 0
    assert result.stdout == body.decode()
