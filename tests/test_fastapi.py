"""The FastAPI adapter under uvicorn, read by a raw socket and httpx: the same bytes as
``fastapi.sse`` for the same path operations, the same lifecycle, and the engine."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from servers import TESTS, RawClient, Server, free_port, running, serve, server_command, wait_for
from twins import TWINS, server_env


@pytest.fixture(scope="module")
def native() -> Iterator[Server]:
    with serve("uvicorn", app="fastapi_apps:native_app") as server:
        yield server


@pytest.fixture(scope="module", params=TWINS)
def ours(request: pytest.FixtureRequest) -> Iterator[Server]:
    with serve("uvicorn", app="fastapi_apps:app", env=server_env(request.param)) as server:
        yield server


def lifecycle_log(server: Server) -> list[str]:
    return list(httpx.get(f"{server.url}/log", timeout=5).json())


SAME_BYTES = [
    ("GET", "/items", b""),  # pydantic items, declared: validated, dumped by pydantic
    ("GET", "/items-options", b""),  # response_model_* options; a subclass of the item type
    ("GET", "/undeclared", b""),  # models, dicts, text, numbers through jsonable_encoder
    ("GET", "/events", b""),  # ServerSentEvent: every field, raw_data, comments
    ("GET", "/dicts?n=5", b""),
    ("GET", "/sync", b""),  # a sync generator
    ("POST", "/orders", b'{"count": 3}'),
    ("PUT", "/status?created=true", b""),  # status and headers from a dependency
    ("PUT", "/status", b""),
    ("GET", "/lifecycle", b""),
]


@pytest.mark.parametrize(("method", "path", "body"), SAME_BYTES)
def test_same_bytes_status_and_headers_as_native(
    native: Server, ours: Server, method: str, path: str, body: bytes
) -> None:
    headers = {"Content-Type": b"application/json"} if body else {}
    replies = []
    for server in (native, ours):
        with RawClient(server.port, path, method=method, headers=headers, body=body) as client:
            client.read_all()
            replies.append(client)
    theirs, mine = replies
    assert mine.body == theirs.body
    assert mine.body.endswith(b"\n\n")
    assert mine.status == theirs.status
    for name in ("content-type", "cache-control", "x-accel-buffering", "x-feed"):
        assert mine.headers.get(name) == theirs.headers.get(name), name


def test_a_post_stream_read_by_httpx_decodes_to_the_same_events(
    native: Server, ours: Server
) -> None:
    bodies = []
    for server in (native, ours):
        with httpx.stream("POST", f"{server.url}/orders", json={"count": 4}, timeout=10) as reply:
            bodies.append(b"".join(reply.iter_bytes()))
    assert bodies[0] == bodies[1] == b"".join(b'data: {"count":%d}\n\n' % n for n in range(4))


def test_request_validation_errors_are_fastapis_422(native: Server, ours: Server) -> None:
    replies = [
        httpx.post(f"{s.url}/orders", json={"count": "x"}, timeout=5) for s in (native, ours)
    ]
    assert replies[0].status_code == replies[1].status_code == 422
    assert replies[0].json() == replies[1].json()


def test_every_set_cookie_header_of_a_dependency_is_sent(ours: Server) -> None:
    reply = httpx.put(f"{ours.url}/status", timeout=5)
    assert reply.headers.get_list("set-cookie") == [
        "a=1; Path=/; SameSite=lax",
        "b=2; Path=/; SameSite=lax",
    ]


def test_an_invalid_item_ends_the_stream_with_an_error(native: Server, ours: Server) -> None:
    for server in (native, ours):
        with (
            pytest.raises(httpx.RemoteProtocolError),
            httpx.stream("GET", f"{server.url}/invalid", timeout=10) as reply,
        ):
            b"".join(reply.iter_bytes())  # no terminating chunk: the client sees the failure


def test_normal_end_same_order_as_native(native: Server, ours: Server) -> None:
    logs = []
    for server in (native, ours):
        lifecycle_log(server)
        entries = []
        for path in ("/lifecycle?n=3", "/sync-lifecycle"):
            with RawClient(server.port, path) as client:
                client.read_all()
            entries += wait_for_log(server, count=1)
        logs.append(entries)
    assert logs[0] == logs[1]
    assert logs[1] == [
        "dependency opened",
        "yield 0 with resource",
        "yield 1 with resource",
        "yield 2 with resource",
        "generator closed",
        "background task",
        "dependency closed",
        "dependency opened",
        "sync yield with resource",
        "generator closed",
        "dependency closed",
    ]


def collect_log(server: Server, until: Callable[[list[str]], bool]) -> list[str]:
    """The log entries read until ``until(entries)`` holds."""
    entries: list[str] = []

    def done() -> bool:
        entries.extend(lifecycle_log(server))
        return until(entries)

    wait_for(done, timeout=5, interval=0.05)
    return entries


def wait_for_log(server: Server, count: int) -> list[str]:
    """The log once ``count`` dependencies were closed (teardown ends every request)."""
    return collect_log(server, lambda entries: entries.count("dependency closed") >= count)


def disconnect_log(server: Server, until: set[str]) -> list[str]:
    """Leave a never-ending stream; the log (without its yields) once ``until`` is in it."""
    lifecycle_log(server)
    with RawClient(server.port, "/lifecycle?forever=true") as client:
        client.read_until(b'data: "2"\n\n')
    entries = collect_log(server, lambda entries: until <= set(entries))
    return [entry for entry in entries if not entry.startswith("yield")]


def test_on_disconnect_the_generator_closes_before_background_tasks(
    native: Server, ours: Server
) -> None:
    # Native leaves the generator suspended at its yield when the client goes: the
    # garbage collector closes it, after the background tasks and the dependencies'
    # teardown, or much later. The engine closes it as soon as the client is gone.
    theirs = disconnect_log(native, until={"dependency closed"})
    assert theirs[:2] == ["dependency opened", "background task"]
    assert "dependency closed" in theirs[2:]
    mine = disconnect_log(ours, until={"generator closed", "dependency closed"})
    assert mine == ["dependency opened", "generator closed", "background task", "dependency closed"]


def test_ping_interval_is_configurable(ours: Server) -> None:
    with RawClient(ours.port, "/engine/pinged") as client:
        body = client.read_for(1.5)  # pings every 0.2 s: room for a slow machine
    assert body.startswith(b'data: "pinged"\n\n: ping\n\n')
    assert body.count(b": ping\n\n") >= 2


def test_ping_zero_sends_no_pings(ours: Server) -> None:
    with RawClient(ours.port, "/engine/quiet") as client:
        assert client.read_for(0.6) == b'data: "quiet"\n\n'


def test_send_timeout_drops_a_client_that_stopped_reading(ours: Server) -> None:
    lifecycle_log(ours)
    client = RawClient(ours.port, "/engine/frozen-client", receive_buffer=4096)
    try:
        took = wait_for(lambda: "frozen client dropped" in lifecycle_log(ours), timeout=10)
    finally:
        client.close()
    assert took < 8


def test_last_event_id_dependency_reads_utf8(ours: Server) -> None:
    headers = {"Last-Event-ID": "prix-€".encode()}
    with RawClient(ours.port, "/engine/resume", headers=headers) as client:
        body = client.read_all()
    assert body == "data: prix-€\nid: prix-€+1\n\n".encode()


def test_items_that_frame_themselves_are_written_as_they_are(ours: Server) -> None:
    with RawClient(ours.port, "/engine/prepared") as client:
        body = client.read_all()
    assert body.startswith(b"id: 7\nevent: quote\ndata: framed once\n\ndata: {")


def test_a_response_built_directly_writes_text_as_is_and_frames_models(ours: Server) -> None:
    with RawClient(ours.port, "/engine/direct") as client:
        body = client.read_all()
    assert body == (
        b': made by hand\n\ndata: bytes\n\ndata: {"count": 1}\n\nid: q1\ndata: from a queue\n\n'
    )
    assert client.headers["cache-control"] == "no-cache"


@contextlib.contextmanager
def drain_server(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    log = tmp_path / "drain.log"
    port = free_port()
    command = server_command("uvicorn", "fastapi_apps:drain_app", port)
    with running(command, port, cwd=TESTS, env={"FASTAPI_DRAIN_LOG": str(log)}) as server:
        yield server, log


def test_sigterm_ends_streams_with_a_farewell_and_uvicorn_exits_promptly(
    tmp_path: Path,
) -> None:
    with drain_server(tmp_path) as (server, log), contextlib.ExitStack() as stack:
        clients = [stack.enter_context(RawClient(server.port, "/forever")) for _ in range(3)]
        starlette_client = stack.enter_context(RawClient(server.port, "/starlette-forever"))
        for client in clients:
            client.read_until(b"data: 2\n\n")
        starlette_client.read_until(b"data: 2\r\n\r\n")
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        for client in [*clients, starlette_client]:
            client.read_all(timeout=5)  # ends: the last chunk or the connection closing
        # uvicorn re-raises the signal once it has shut down cleanly: -SIGTERM
        assert server.process.wait(10) == -signal.SIGTERM
        took = time.monotonic() - started
    assert took < 5
    assert all(client.body.endswith(b'event: bye\ndata: {"bye": true}\n\n') for client in clients)
    assert starlette_client.body.endswith(b"event: bye\r\ndata: going away\r\n\r\n")
    entries = log.read_text().splitlines()
    assert entries.count("generator closed") == 3
    assert entries.count("background task") == 3
    assert entries.count("dependency closed") == 3


def test_native_sse_holds_uvicorn_on_sigterm(tmp_path: Path) -> None:
    """What the adapter fixes: uvicorn waits for a native stream that never ends."""
    port = free_port()
    command = server_command("uvicorn", "fastapi_apps:native_app", port)
    with (
        running(command, port, cwd=TESTS) as server,
        RawClient(port, "/lifecycle?forever=true") as client,
    ):
        client.read_until(b'data: "1"\n\n')
        server.process.send_signal(signal.SIGTERM)
        with pytest.raises(subprocess.TimeoutExpired):
            server.process.wait(2)
        client.close()
        assert server.process.wait(10) == -signal.SIGTERM


@pytest.fixture(scope="module")
def broker_server() -> Iterator[Server]:
    with serve("uvicorn", app="fastapi_apps:broker_app") as server:
        yield server


@pytest.mark.parametrize("way", ["returned", "yielded", "declared"])
def test_a_broker_subscription_is_what_a_path_operation_returns_or_yields_from(
    broker_server: Server, way: str
) -> None:
    topic = f"news-{way}"

    def publish(text: str) -> bytes:
        reply = httpx.post(f"{broker_server.url}/publish/{topic}", params={"data": text})
        return str(reply.json()).encode()

    seen, first, second = publish("seen"), publish("first"), publish("second")
    resuming = {"Last-Event-ID": seen}
    with RawClient(broker_server.port, f"/{way}/{topic}", headers=resuming) as client:
        replayed = client.read_until(b"data: second\n\n")
        third = publish("third")  # the subscription is open: this one comes live
        live = client.read_until(b"data: third\n\n")
    assert client.status == 200
    assert replayed == b"id: %s\ndata: first\n\nid: %s\ndata: second\n\n" % (first, second)
    assert live == replayed + b"id: %s\ndata: third\n\n" % third


def test_an_event_queue_is_what_a_path_operation_returns(broker_server: Server) -> None:
    with RawClient(broker_server.port, "/queue") as client:
        body = client.read_all()
    assert body == (
        b"id: 1\ndata: engine event\n\n"
        b'event: e\ndata: {"fastapi": "event"}\n\n'
        b'data: {"count": 2}\n\n'
        b'data: {"plain": "dict"}\n\n'
        b"data: framed\n\n"
    )


def test_puts_to_a_queue_whose_client_left_are_refused(broker_server: Server) -> None:
    lifecycle_log(broker_server)
    with RawClient(broker_server.port, "/queue-until-gone") as client:
        client.read_until(b"data: 2\n\n")
    entries = collect_log(broker_server, lambda entries: bool(entries))
    assert entries == ["put refused: the client has disconnected"]
