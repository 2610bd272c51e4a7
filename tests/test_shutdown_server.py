"""Server shutdown with open streams, under real servers and real signals.

Without a drain, servers wait for endless streams to finish and shutdown hangs. Here the
server's own SIGTERM handler is chained (nothing is patched): every stream gets the
farewell event, its body ends, and the server exits within the grace period.
"""

from __future__ import annotations

import signal
import time

import pytest
from servers import RawClient, serve

pytestmark = pytest.mark.needs_posix_signals
GRACE = 1.0
HYPERCORN_GRACEFUL_TIMEOUT = 3.0  # its default


@pytest.mark.parametrize(
    ("kind", "streams", "stops_after"),
    [
        ("uvicorn", 1000, GRACE),
        ("hypercorn+inline", 300, GRACE),
        # hypercorn's default worker process never sees the signal (its parent does),
        # and its trio runner installs no handler at all: the server cancels the
        # streams after its graceful timeout, and they still send their farewell and
        # end their body as they go. (With many streams open, hypercorn's worker does
        # not exit after cancelling them, even for a bare ASGI app: one stream here.)
        ("hypercorn", 1, HYPERCORN_GRACEFUL_TIMEOUT),
        ("hypercorn-trio", 1, HYPERCORN_GRACEFUL_TIMEOUT),
    ],
)
def test_sigterm_ends_every_open_stream(kind: str, streams: int, stops_after: float) -> None:
    with serve(kind, env={"SSE_TEST_GRACE": str(GRACE)}) as server:
        clients = []
        try:
            for _ in range(streams):
                client = RawClient(server.port, "/forever")
                client.read_until(b"data: ready\n\n")
                clients.append(client)
            assert server.stats()["finished"] == 0

            start = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(stops_after + 10)
            took = time.monotonic() - start

            for client in clients:
                body = client.read_all(timeout=5)
                assert body.endswith(b"event: bye\ndata: server going away\n\n")
        finally:
            for client in clients:
                client.close()
    assert stops_after <= took < stops_after + 2.0, f"{kind} took {took:.2f} s to stop"


def test_generator_may_finish_cooperatively_before_the_grace_period_ends() -> None:
    # /events without a grace period: SIGTERM cancels the generator at once.
    with serve("uvicorn") as server:
        client = RawClient(server.port, "/events?interval=0.05")
        client.read_until(b"id: 2\n")
        start = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(10)
        assert time.monotonic() - start < 1.5
        body = client.read_all(timeout=5)
        client.close()
    assert body.endswith(b"\n\n")  # ends on an event boundary, never mid-event


@pytest.mark.parametrize("script", ["asgi_app.py", "fastapi_app.py", "demo/app.py"])
def test_ctrl_c_ends_an_examples_open_streams_at_once(script: str) -> None:
    from example_servers import run_example

    path, end = {
        "asgi_app.py": ("/?count=100&interval=5", b"\n\n"),
        "fastapi_app.py": ("/prices?interval=5", b"\n\n"),
        "demo/app.py": ("/events?interval=5", b"\r\n\r\n"),
    }[script]
    with run_example(script) as server:
        client = RawClient(server.port, path)
        try:
            client.read_until(end)
            start = time.monotonic()
            server.process.send_signal(signal.SIGINT)
            server.process.wait(10)
            assert time.monotonic() - start < 2.0
            assert client.read_all(timeout=5).endswith(end)  # a clean end of the body
        finally:
            client.close()


@pytest.mark.parametrize("kind", ["uvicorn", "hypercorn+inline"])
def test_sigterm_ends_a_stream_whose_end_of_the_body_stalls_without_retrying_it(
    kind: str,
) -> None:
    # The stalled end is cut off when the grace period (0 here) ends; writing it again
    # would stall again, for a second per attempt.
    with serve(kind) as server:
        client = RawClient(server.port, "/stalled-end?count=1")
        try:
            client.read_until(b"id: 1\n")
            start = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(10)
            took = time.monotonic() - start
        finally:
            client.close()
    assert took < 1.5, f"{kind} took {took:.2f} s to stop"
