"""The raw ASGI app under real servers, read by a raw socket, httpx and a spec parser.

Every server kind runs with each framing twin (SSE_FAST_NO_EXTENSIONS in the server).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from apps import numbered
from reference import reference_parse
from servers import RawClient, Server, serve, wait_for
from twins import TWINS, server_env

KINDS = ["uvicorn", "hypercorn", "hypercorn-trio"]


@pytest.fixture(
    scope="module",
    params=[(kind, twin) for kind in KINDS for twin in TWINS],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    kind, twin = request.param
    with serve(kind, env=server_env(twin)) as running:
        assert running.stats()["compiled"] is (twin == "c")
        yield running


def expected(first: int, last: int) -> bytes:
    return b"".join(numbered(n).encode() for n in range(first, last + 1))


def test_events_arrive_exactly_as_framed(server: Server) -> None:
    with RawClient(server.port, "/events?count=3") as client:
        assert client.read_all() == expected(1, 3)
        assert client.status == 200


def test_stream_headers(server: Server) -> None:
    with RawClient(server.port, "/events?count=1") as client:
        client.read_all()
    assert client.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert client.headers["cache-control"] == "no-store"
    assert client.headers["x-accel-buffering"] == "no"
    assert client.headers["connection"] == "keep-alive"


def test_http10_response_has_no_keep_alive_header(server: Server) -> None:
    with RawClient(server.port, "/events?count=2", http="1.0") as client:
        assert client.read_all() == expected(1, 2)
    assert client.headers.get("connection", "close").lower() != "keep-alive"


def test_head_sends_headers_only_without_calling_the_handler(server: Server) -> None:
    started = server.stats()["started"]
    with RawClient(server.port, "/events", method="HEAD") as client:
        client.read_head()
        assert client.status == 200
        assert client.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert server.stats()["started"] == started


def test_stream_resumes_after_last_event_id(server: Server) -> None:
    headers = {"Last-Event-ID": b"5"}
    with RawClient(server.port, "/events?count=3", headers=headers) as client:
        assert client.read_all() == expected(6, 8)


def test_non_ascii_last_event_id_is_read_as_utf8(server: Server) -> None:
    event_id = "évènement…7"
    headers = {"Last-Event-ID": event_id.encode()}
    with RawClient(server.port, "/echo-id", headers=headers) as client:
        parsed = reference_parse(client.read_all())
    assert parsed.events == [("message", event_id, event_id)]


def test_httpx_reads_the_stream(server: Server) -> None:
    with httpx.stream("GET", f"{server.url}/events?count=5", timeout=10) as response:
        body = b"".join(response.iter_bytes())
    parsed = reference_parse(body)
    assert parsed.events == [("tick", f"event {n}\nsecond line", str(n)) for n in range(1, 6)]
    assert parsed.last_event_id == "5"


def test_pings_arrive_on_the_interval(server: Server) -> None:
    with RawClient(server.port, "/ping") as client:
        body = client.read_for(1.1)
    assert body.startswith(b"event: ready\ndata: ready\n\n")
    assert 3 <= body.count(b": ping\n\n") <= 6


def test_idle_only_pings_wait_for_silence(server: Server) -> None:
    with RawClient(server.port, "/ping-idle?count=8&interval=0.1&linger=1") as client:
        body = client.read_for(1.6)
    busy, _, quiet = body.partition(b"id: 8\n")
    assert b"ping" not in busy
    assert quiet.count(b": ping\n\n") >= 1


def test_client_leaving_runs_the_generator_finally_within_a_second(server: Server) -> None:
    finished = server.stats()["finished"]
    client = RawClient(server.port, "/events?interval=0.05")
    client.read_until(b"id: 2\n")
    client.close()
    wait_for(lambda: server.stats()["finished"] > finished, timeout=1.0)


def test_no_task_outlives_its_connection(server: Server) -> None:
    baseline = server.stats()["tasks"]
    clients = [RawClient(server.port, "/events?interval=0.05") for _ in range(20)]
    for client in clients:
        client.read_until(b"id: 1\n")
    assert server.stats()["tasks"] > baseline
    for client in clients:
        client.close()
    wait_for(lambda: server.stats()["tasks"] <= baseline, timeout=2.0)


def test_a_client_leaving_while_the_end_of_the_body_stalls_ends_the_response(
    server: Server,
) -> None:
    ended = server.stats().get("stalled_ended", 0)
    with RawClient(server.port, "/stalled-end?count=1") as client:
        client.read_until(b"id: 1\n")  # the end of the body never comes
    wait_for(lambda: server.stats().get("stalled_ended", 0) > ended, timeout=3.0)


@pytest.mark.needs_proc
def test_frozen_client_is_cut_off_by_the_send_timeout(server: Server) -> None:
    finished = server.stats()["finished"]
    rss_before = server.rss_kib()
    client = RawClient(server.port, "/frozen", receive_buffer=4096)
    client.read_head()  # and then never read again
    try:
        wait_for(lambda: server.stats()["finished"] > finished, timeout=5.0)
        assert server.rss_kib() - rss_before < 32 * 1024  # bounded: no unbounded buffering
    finally:
        client.close()


def test_handler_returning_none_answers_204(server: Server) -> None:
    with RawClient(server.port, "/no-content") as client:
        client.read_all()
    assert client.status == 204


def test_post_body_reaches_the_handler(server: Server) -> None:
    body = b'{"prompt": "h\xc3\xa9llo"}'
    headers = {"Content-Type": b"application/json"}
    with RawClient(server.port, "/post", method="POST", headers=headers, body=body) as client:
        assert client.read_all() == b'event: echo\ndata: {"prompt":"h\xc3\xa9llo"}\n\n'


def test_post_cut_off_mid_upload_never_reaches_the_handler(server: Server) -> None:
    posts = server.stats().get("posts", 0)
    client = RawClient(server.port, "/post", method="POST", headers={"Content-Length": b"1000"})
    client.sock.sendall(b'{"prompt": "trunc')
    time.sleep(0.1)
    client.close()
    time.sleep(0.3)
    # A whole POST after it is counted once: the count works, and the cut-off upload,
    # which came first on the same server, never reached the handler.
    body = b'{"prompt": "whole"}'
    headers = {"Content-Type": b"application/json"}
    with RawClient(server.port, "/post", method="POST", headers=headers, body=body) as whole:
        assert whole.read_all() == b'event: echo\ndata: {"prompt":"whole"}\n\n'
    assert server.stats().get("posts", 0) == posts + 1


def test_method_not_allowed(server: Server) -> None:
    with RawClient(server.port, "/events", method="DELETE") as client:
        client.read_all()
    assert client.status == 405
    assert client.headers["allow"] == "GET, HEAD"


def test_each_event_arrives_before_a_blocking_source_is_resumed(
    server: Server, tmp_path: Path
) -> None:
    seen = tmp_path / "seen"
    seen.write_text("")
    with RawClient(server.port, f"/blocking?count=3&seen={seen}") as client:
        for n in range(1, 4):
            client.read_until(f"id: {n}\n".encode())
            with seen.open("a") as file:
                file.write(f"{n}\n")  # the source, blocked, waits for this
        body = client.read_all()
    assert body.count(b"previous arrived: yes") == 2
    assert b"previous arrived: no\n" not in body


def test_a_handler_returning_a_str_fails_before_the_response_starts(server: Server) -> None:
    with RawClient(server.port, "/returns-text") as client:
        client.read_all()
    assert client.status == 500  # not a 200 streaming one event per character


def test_oversized_post_body_gets_413_and_connection_close(server: Server) -> None:
    headers = {"Content-Length": str(8 * 1024 * 1024).encode()}
    client = RawClient(server.port, "/post", method="POST", headers=headers)
    with client:
        client.sock.sendall(b"x" * (2 * 1024 * 1024))  # more than max_body_size, not all
        client.read_head()
    assert client.status == 413
    assert client.headers["connection"].lower() == "close"


def server_holds_connection(server_port: int, client_port: int) -> bool:
    """Whether the kernel still has the server's end of this connection (any state)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, remote = line.split()[1:3]
            if (
                int(local.split(":")[1], 16) == server_port
                and int(remote.split(":")[1], 16) == client_port
            ):
                return True
    return False


@pytest.mark.parametrize("app", ["apps:app", "apps:starlette_app"])
def test_a_frozen_client_is_disconnected_and_its_buffers_freed_on_uvicorn(app: str) -> None:
    with serve("uvicorn", app=app) as server:
        finished = server.stats()["finished"]
        clients = [RawClient(server.port, "/frozen", receive_buffer=4096) for _ in range(5)]
        try:
            for client in clients:
                client.read_head()  # and then never read again
            wait_for(lambda: server.stats()["finished"] >= finished + 5, timeout=5.0)
            for client in clients:
                port = client.sock.getsockname()[1]
                wait_for(lambda port=port: not server_holds_connection(server.port, port), 3.0)
        finally:
            for client in clients:
                client.close()
        server.process.send_signal(signal.SIGTERM)
        log = server.process.communicate(timeout=10)[1].decode()
    assert "Traceback" not in log
    assert log.count("a send did not complete within 0.5 s; connection aborted") == 5
