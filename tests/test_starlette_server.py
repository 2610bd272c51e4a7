"""The Starlette adapter under uvicorn: a drop-in for sse-starlette, checked byte for byte."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from reference import reference_parse
from servers import RawClient, Server, serve, wait_for
from twins import TWINS, server_env


@pytest.fixture(scope="module", params=TWINS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with serve("uvicorn", app="apps:starlette_app", env=server_env(request.param)) as running:
        assert running.stats()["compiled"] is (request.param == "c")
        yield running


def test_same_wire_bytes_and_headers_as_sse_starlette(server: Server) -> None:
    with RawClient(server.port, "/ours") as ours, RawClient(server.port, "/theirs") as theirs:
        assert ours.read_all() == theirs.read_all()
    assert ours.body.startswith(b"data: plain\r\n\r\n")
    for name in ("content-type", "cache-control", "x-accel-buffering", "connection"):
        assert ours.headers[name] == theirs.headers[name], name


def test_events_custom_headers_and_pings(server: Server) -> None:
    with RawClient(server.port, "/endless") as client:
        body = client.read_for(0.7)
    assert client.headers["x-custom"] == "yes"
    assert b"id: 1\r\ndata: 1\r\n\r\n" in body
    assert body.count(b": ping\r\n\r\n") >= 2


def test_client_leaving_runs_finally_and_the_close_handler(server: Server) -> None:
    before = server.stats()
    client = RawClient(server.port, "/endless")
    client.read_until(b"id: 2\r\n")
    client.close()
    wait_for(lambda: server.stats()["finished"] > before["finished"], timeout=1.0)
    # The close handler is awaited once the source has been closed: right after.
    handled = before.get("close_handler", 0) + 1
    wait_for(lambda: server.stats().get("close_handler", 0) >= handled, timeout=1.0)


def test_a_client_leaving_while_the_end_of_the_body_stalls_runs_background(
    server: Server,
) -> None:
    ran = server.stats().get("background", 0)
    with RawClient(server.port, "/stalled-end") as client:
        client.read_until(b"data: only\r\n\r\n")  # the end of the body never comes
    wait_for(lambda: server.stats().get("background", 0) > ran, timeout=3.0)


def test_an_id_with_a_newline_is_refused_not_mangled(server: Server) -> None:
    with RawClient(server.port, "/bad-id") as client:
        body = client.read_all()
    assert b"id: 12" not in body  # sse-starlette would send the id with the newline removed
    assert b"data: x" not in body


def test_fastapi_endpoint_streams_json_tokens() -> None:
    with (
        serve("uvicorn", app="apps:fastapi_app") as server,
        httpx.stream("GET", f"{server.url}/tokens", timeout=10) as response,
    ):
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        body = b"".join(response.iter_bytes())
    events = reference_parse(body).events
    assert [e[:2] for e in events] == [
        ("token", '{"token":"Hel"}'),
        ("token", '{"token":"lo"}'),
        ("token", '{"token":" wor"}'),
        ("token", '{"token":"ld"}'),
        ("message", "[DONE]"),
    ]
