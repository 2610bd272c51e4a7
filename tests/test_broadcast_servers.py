"""The broker behind real servers (uvicorn and hypercorn + Starlette, aiohttp), read by
raw sockets.

Fan-out to several connections (a client that stops reading is cut off once it lags
while the others get everything), replay from Last-Event-ID or ``?last_event_id=``
(the header wins), one Reset frame for a bad cursor, 403 with no SSE bytes when the
hook denies, 400 for a bad topic name.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator

import pytest
from servers import TESTS, RawClient, Server, free_port, running, serve, wait_for

KINDS = ["uvicorn", "hypercorn", "aiohttp"]


@pytest.fixture(scope="module", params=KINDS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    if request.param != "aiohttp":
        with serve(request.param, "broadcast_apps:app") as started:
            yield started
    else:
        port = free_port()
        command = [sys.executable, "broadcast_apps.py", "--port", str(port)]
        with running(command, port, cwd=TESTS) as started:
            yield started


def publish(server: Server, topic: str, data: bytes) -> str:
    with RawClient(server.port, f"/publish/{topic}", method="POST", body=data, http="1.0") as c:
        body = c.read_all()
        assert c.status == 200, body
        return body.decode()


def frames(body: bytes) -> list[bytes]:
    return [frame for frame in re.split(rb"\r?\n\r?\n", body) if frame.strip()]


def test_one_publish_reaches_every_connection(server: Server) -> None:
    with RawClient(server.port, "/events/fan") as a, RawClient(server.port, "/events/fan") as b:
        a.read_head()
        b.read_head()
        assert a.status == b.status == 200
        assert a.headers["content-type"].startswith("text/event-stream")
        assert a.headers["sse-replay"] == "none"
        event_id = publish(server, "fan", b"hello\nworld")
        expected = f"id: {event_id}".encode()
        for client in (a, b):
            body = client.read_until(b"data: world")
            assert expected in body
            assert b"data: hello" in body


def subscribers(server: Server, topic: str) -> int:
    with RawClient(server.port, f"/subscribers/{topic}", http="1.0") as client:
        return int(client.read_all())


def event_ids(body: bytes) -> list[str]:
    return [found.decode() for found in re.findall(rb"^id: (\S+)\r?$", body, flags=re.MULTILINE)]


def test_a_client_that_stops_reading_is_cut_off_and_the_others_get_everything(
    server: Server,
) -> None:
    # The app keeps 50 events: the frozen client lags once its socket, the server's
    # buffers and its stream's batch are full and 50 more events were published.
    payload = b"x" * 16384
    readers = [RawClient(server.port, "/events/frozen") for _ in range(2)]
    frozen = RawClient(server.port, "/events/frozen", receive_buffer=4096)
    try:
        for client in [*readers, frozen]:
            client.read_head()
        wait_for(lambda: subscribers(server, "frozen") == 3, 5)
        bodies: dict[int, bytes] = {}

        def read_everything(index: int, client: RawClient) -> None:
            bodies[index] = client.read_until(b"data: last", timeout=30)

        threads = [
            threading.Thread(target=read_everything, args=(index, client))
            for index, client in enumerate(readers)
        ]
        for thread in threads:
            thread.start()
        ids = [publish(server, "frozen", payload) for _ in range(400)]
        ids.append(publish(server, "frozen", b"last"))
        for thread in threads:
            thread.join(40)
        for index in range(len(readers)):
            assert event_ids(bodies[index]) == ids
        # Cut off while it still reads nothing: only the two readers are left.
        wait_for(lambda: subscribers(server, "frozen") == 2, 10)
        got = event_ids(frozen.read_all(timeout=10))
        assert 0 < len(got) < len(ids)
        assert got == ids[: len(got)]  # in order, nothing skipped, up to where it stalled
    finally:
        for client in [*readers, frozen]:
            client.close()


def test_a_reconnect_with_last_event_id_replays_what_it_missed(server: Server) -> None:
    ids = [publish(server, "replay", f"m{n}".encode()) for n in range(5)]
    headers = {"Last-Event-ID": ids[1].encode()}
    with RawClient(server.port, "/events/replay", headers=headers) as client:
        body = client.read_until(f"id: {ids[4]}".encode())
        assert client.headers["sse-replay"] == "complete"
        assert [b"id: " + i.encode() in body for i in ids] == [False, False, True, True, True]
        assert (
            body.index(ids[2].encode()) < body.index(ids[3].encode()) < body.index(ids[4].encode())
        )


def test_the_query_parameter_gives_the_cursor_and_the_header_wins(server: Server) -> None:
    ids = [publish(server, "query", f"m{n}".encode()) for n in range(4)]
    with RawClient(server.port, f"/events/query?last_event_id={ids[2]}") as client:
        body = client.read_until(f"id: {ids[3]}".encode())
        assert f"id: {ids[2]}".encode() not in body
    headers = {"Last-Event-ID": ids[0].encode()}
    with RawClient(server.port, f"/events/query?last_event_id={ids[2]}", headers=headers) as client:
        body = client.read_until(f"id: {ids[3]}".encode())
        assert f"id: {ids[1]}".encode() in body


def test_a_bad_cursor_gets_one_reset_frame_then_live_events(server: Server) -> None:
    head = publish(server, "reset", b"x")
    with RawClient(server.port, "/events/reset", headers={"Last-Event-ID": b"forged"}) as client:
        client.read_until(b"sse_fast.reset")
        assert client.headers["sse-replay"] == "reset"
        live = publish(server, "reset", b"after")
        body = client.read_until(b"data: after")
        reset, event = frames(body)
        assert set(reset.splitlines()) == {
            f"id: {head}".encode(),
            b"event: sse_fast.reset",
            b'data: {"reason": "invalid_id"}',
        }
        assert f"id: {live}".encode() in event


@pytest.mark.parametrize("path", ["/events/private:x", "/events/private:x?async=1"])
def test_a_denied_topic_is_403_without_sse_bytes(server: Server, path: str) -> None:
    with RawClient(server.port, path, http="1.0") as client:
        body = client.read_all()
        assert client.status == 403
        assert not client.headers.get("content-type", "").startswith("text/event-stream")
        assert b"data:" not in body
        assert b"id:" not in body


def test_an_invalid_topic_name_is_400(server: Server) -> None:
    with RawClient(server.port, "/events/a%20b", http="1.0") as client:
        body = client.read_all()
        assert client.status == 400
        assert b"topic must be" in body


@pytest.mark.parametrize("kind", KINDS)
def test_one_subscriber_past_max_subscribers_is_503_until_one_leaves(kind: str) -> None:
    env = {"SSE_TEST_MAX_SUBSCRIBERS": "1"}
    if kind != "aiohttp":
        server_cm = serve(kind, "broadcast_apps:app", env=env)
    else:
        port = free_port()
        command = [sys.executable, "broadcast_apps.py", "--port", str(port)]
        server_cm = running(command, port, cwd=TESTS, env=env)
    with server_cm as server:
        with RawClient(server.port, "/events/capped") as first:
            first.read_head()
            assert first.status == 200
            with RawClient(server.port, "/events/other", http="1.0") as refused:
                body = refused.read_all()
            assert refused.status == 503
            assert not refused.headers.get("content-type", "").startswith("text/event-stream")
            assert b"max_subscribers=1" in body
            assert b"data:" not in body
        wait_for(lambda: subscribers(server, "capped") == 0, timeout=5)
        with RawClient(server.port, "/events/capped") as again:
            again.read_head()
            assert again.status == 200
            event_id = publish(server, "capped", b"after")
            assert f"id: {event_id}".encode() in again.read_until(b"data: after")


def test_a_subscription_streams_from_a_raw_asgi_handler() -> None:
    with serve("uvicorn", "broadcast_apps:app") as server:
        first = publish(server, "raw", b"one")
        headers = {"Last-Event-ID": first.encode()}
        with RawClient(server.port, "/asgi/raw", headers=headers) as client:
            client.read_head()
            second = publish(server, "raw", b"two")
            body = client.read_until(b"data: two")
    assert body == f"id: {second}\ndata: two\n\n".encode()
