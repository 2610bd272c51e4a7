"""The aiohttp adapter under a real aiohttp server, read by a raw socket and the decoder.

Each test runs with both framing twins (SSE_FAST_NO_EXTENSIONS in the server), and the
disconnect tests also with ``handler_cancellation=True``.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest
from servers import RawClient, Server, serve, wait_for
from twins import TWINS, server_env

import sse_fast

SERVERS = [("aiohttp", twin) for twin in TWINS] + [("aiohttp+cancel", TWINS[-1])]


def start(kind: str, twin: str) -> Iterator[Server]:
    with serve(kind, env=server_env(twin)) as running:
        assert running.stats()["compiled"] is (twin == "c")
        yield running


@pytest.fixture(scope="module", params=TWINS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    yield from start("aiohttp", request.param)


@pytest.fixture(scope="module", params=SERVERS, ids=lambda p: f"{p[0]}-{p[1]}")
def any_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """With and without aiohttp's handler_cancellation."""
    yield from start(*request.param)


def decode(body: bytes) -> list[sse_fast.ServerSentEvent]:
    decoder = sse_fast.Decoder()
    return decoder.feed(body) + decoder.close()


def test_same_bytes_and_headers_as_aiohttp_sse(server: Server) -> None:
    with (
        RawClient(server.port, "/ours/mixed") as ours,
        RawClient(server.port, "/theirs/mixed") as theirs,
    ):
        assert ours.read_all() == theirs.read_all()
    assert ours.body.startswith(b"data: plain\r\n\r\nid: 7\r\nevent: update\r\ndata: multi\r\n")
    for name in ("content-type", "cache-control", "x-accel-buffering", "connection", "x-custom"):
        assert ours.headers[name] == theirs.headers[name], name
    assert ours.headers["transfer-encoding"] == "chunked"


def test_the_decoder_reads_every_field(server: Server) -> None:
    with RawClient(server.port, "/ours/mixed") as client:
        events = decode(client.read_all())
    assert [(e.event, e.data, e.id) for e in events][:4] == [
        ("message", "plain", ""),
        ("update", "multi\nline\ndata\nend", "7"),
        ("message", "", "7"),
        ("message", "h\u00e9llo \u2713", "\u00e9v\u00e8nement"),
    ]


def test_iterable_one_liner_sends_the_same_bytes(server: Server) -> None:
    with (
        RawClient(server.port, "/ours/iterable") as ours,
        RawClient(server.port, "/ours/mixed") as sent,
    ):
        assert ours.read_all() == sent.read_all()


@pytest.mark.parametrize("path", ["/send", "/iterable"])
def test_events_arrive_in_order_and_the_body_ends(server: Server, path: str) -> None:
    with RawClient(server.port, f"{path}?count=500") as client:
        events = decode(client.read_all())
    assert [e.id for e in events] == [str(n) for n in range(1, 501)]
    assert events[-1].data == "event 500"


def test_http10_response_has_no_keep_alive_header(server: Server) -> None:
    with RawClient(server.port, "/send?count=2", http="1.0") as client:
        body = client.read_all()
    assert body == numbered_bytes(1, 2)
    assert client.headers.get("connection", "close").lower() != "keep-alive"


def numbered_bytes(first: int, last: int) -> bytes:
    return b"".join(
        sse_fast.ServerSentEvent(f"event {n}", event="tick", id=str(n)).encode()
        for n in range(first, last + 1)
    )


def test_pings_arrive_on_the_interval(server: Server) -> None:
    with RawClient(server.port, "/ping?every=0.2") as client:
        body = client.read_for(1.1)
    assert body.startswith(b"event: ready\r\ndata: ready\r\n\r\n")
    assert 3 <= body.count(b": ping\r\n\r\n") <= 6


def test_ping_interval_zero_sends_no_pings(server: Server) -> None:
    with RawClient(server.port, "/ping?every=0") as client:
        body = client.read_for(0.8)
    assert body == b"event: ready\r\ndata: ready\r\n\r\n"


def test_each_event_is_written_when_sent(server: Server) -> None:
    """No batching: an event sent every 100 ms reaches the client within a few ms."""
    delays: list[float] = []
    with RawClient(server.port, "/latency?count=6&interval=0.1") as client:
        client.read_head()  # the first event may come with the headers
        arrived = time.monotonic()
        while True:
            client._decode_body()
            events = decode(client.body)
            delays += [arrived - float(str(event.data)) for event in events[len(delays) :]]
            if len(delays) == 6:
                break
            assert client._recv(), "closed early"
            arrived = time.monotonic()
    assert max(delays) < 0.05, delays


@pytest.mark.parametrize("path", ["/send?interval=0.05", "/iterable?interval=0.05"])
def test_client_leaving_runs_the_handler_finally_within_a_second(
    any_server: Server, path: str
) -> None:
    finished = any_server.stats()["finished"]
    client = RawClient(any_server.port, path)
    client.read_until(b"id: 2\n")
    client.close()
    wait_for(lambda: any_server.stats()["finished"] > finished, timeout=1.0)


@pytest.mark.needs_proc
@pytest.mark.parametrize("path", ["/frozen", "/frozen-iterable"])
def test_frozen_client_is_cut_off_by_the_send_timeout(server: Server, path: str) -> None:
    before = server.stats()
    rss_before = server.rss_kib()
    client = RawClient(server.port, path, receive_buffer=4096)
    client.read_head()  # and then never read again
    try:
        took = wait_for(lambda: server.stats()["finished"] > before["finished"], timeout=5.0)
        assert server.rss_kib() - rss_before < 32 * 1024  # bounded: no unbounded buffering
    finally:
        client.close()
    assert took < 3.0
    if path == "/frozen":  # send() raised the timeout, a TimeoutError, to the handler
        assert server.stats()["errors"][len(before["errors"]) :] == ["SendTimeoutError"]


def drain(client: RawClient) -> None:
    """Read until the server ends the connection."""
    while client.sock.recv(65536):
        pass


@pytest.mark.parametrize("path", ["/frozen", "/frozen-iterable"])
def test_a_frozen_client_is_reset_rather_than_sent_the_rest(server: Server, path: str) -> None:
    before = server.stats()
    client = RawClient(server.port, path, receive_buffer=4096)
    try:
        client.read_head()  # and then nothing until the send timeout cut it off
        wait_for(lambda: server.stats()["finished"] > before["finished"], timeout=5.0)
        client.sock.settimeout(5)
        with pytest.raises(ConnectionResetError):  # not what was left unsent, then an end
            drain(client)
    finally:
        client.close()


def test_post_streams_when_all_methods_are_allowed(server: Server) -> None:
    body = b'{"prompt": "h\xc3\xa9llo"}'
    headers = {"Content-Type": b"application/json"}
    with RawClient(server.port, "/post", method="POST", headers=headers, body=body) as client:
        assert client.read_all() == b'event: echo\r\ndata: {"prompt":"h\xc3\xa9llo"}\r\n\r\n'
    assert client.status == 200


def test_post_is_refused_by_default(server: Server) -> None:
    with RawClient(server.port, "/get-only", method="POST", body=b"{}") as client:
        client.read_head()
    assert client.status == 405
    assert client.headers["allow"] == "GET"


def test_non_ascii_last_event_id_is_read_as_utf8(server: Server) -> None:
    event_id = "\u00e9v\u00e8nement\u20267"
    with RawClient(server.port, "/echo-id", headers={"Last-Event-ID": event_id.encode()}) as client:
        events = decode(client.read_all())
    assert [(e.data, e.id) for e in events] == [(repr(event_id), event_id)]


def test_missing_last_event_id_is_none(server: Server) -> None:
    with RawClient(server.port, "/echo-id") as client:
        assert client.read_all() == b"data: None\r\n\r\n"


def test_an_id_with_a_newline_is_refused_before_anything_is_sent(server: Server) -> None:
    with RawClient(server.port, "/bad-id") as client:
        body = client.read_all()
    refusal = b"id must not contain line separators or null characters (CR, LF or NUL): '1\\n2'"
    assert body == b"data: refused: " + refusal + b"\r\n\r\n"


# ---------------------------------------------------------------- shutdown

GRACE = 1.0


@pytest.mark.needs_posix_signals
@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("grace", [0.0, GRACE])
def test_shutdown_ends_every_open_stream_with_the_farewell(twin: str, grace: float) -> None:
    env = {**server_env(twin), "SSE_TEST_GRACE": str(grace)}
    with serve("aiohttp", env=env) as server:
        clients = []
        try:
            for n in range(100):
                path = "/forever" if n % 2 else "/forever-iterable"
                client = RawClient(server.port, path)
                client.read_until(b"data: ready\r\n\r\n")
                clients.append(client)
            assert server.stats()["finished"] == 0

            start = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(grace + 10)
            took = time.monotonic() - start

            for client in clients:
                body = client.read_all(timeout=5)
                assert body.endswith(b"event: bye\r\ndata: server going away\r\n\r\n")
        finally:
            for client in clients:
                client.close()
    assert grace <= took < grace + 2.0, f"aiohttp took {took:.2f} s to stop"
