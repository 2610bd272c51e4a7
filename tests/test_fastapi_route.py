"""The FastAPI adapter without a server: the OpenAPI document, the options, the framing."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterable
from typing import Any

import anyio
import pytest
from fastapi import APIRouter, FastAPI
from fastapi import routing as fastapi_routing
from fastapi import sse as native_sse
from fastapi_apps import Framed, build
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from sse_fast.adapters import fastapi as sse_fast_sse
from sse_fast.testing import stream


def test_openapi_document_is_the_same_as_native() -> None:
    ours = build(sse_fast_sse).openapi()
    assert ours == build(native_sse).openapi()
    items = ours["paths"]["/items"]["get"]["responses"]["200"]["content"]
    assert items == {
        "text/event-stream": {
            "itemSchema": {
                "type": "object",
                "properties": {
                    "data": {"type": "string", "contentMediaType": "application/json",
                             "contentSchema": {"$ref": "#/components/schemas/Item"}},
                    "event": {"type": "string"},
                    "id": {"type": "string"},
                    "retry": {"type": "integer", "minimum": 0},
                },
                "required": ["data"],
            }
        }
    }  # fmt: skip


def test_server_sent_event_is_fastapis_own_model() -> None:
    assert sse_fast_sse.ServerSentEvent is native_sse.ServerSentEvent
    assert issubclass(sse_fast_sse.EventSourceResponse, native_sse.EventSourceResponse)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"ping": -1}, ValueError, "ping must be >= 0, got: -1"),
        ({"ping": "5"}, TypeError, "ping must be a number of seconds, got: '5'"),
        ({"send_timeout": True}, TypeError, "send_timeout must be a number of seconds, got: True"),
        ({"shutdown_grace_period": math.nan}, ValueError, "shutdown_grace_period must be >= 0"),
    ],
)
def test_bad_options_are_refused_when_the_class_is_made(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        sse_fast_sse.EventSourceResponse.with_options(**options)


@pytest.mark.parametrize(
    ("farewell", "error", "message"),
    [
        ("bye", TypeError, "^farewell must be a ServerSentEvent or framed bytes, not str"),
        (b"data: bye\r\n\r\n", ValueError, "^farewell bytes must end with a blank line"),
    ],
)
def test_a_bad_farewell_is_refused_when_the_class_is_made(
    farewell: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        sse_fast_sse.EventSourceResponse.with_options(farewell=farewell)
    bad = farewell
    with pytest.raises(error, match=message):

        class Farewell(sse_fast_sse.EventSourceResponse):
            farewell = bad


def test_a_farewell_is_framed_as_fastapi_frames_its_events() -> None:
    bye = native_sse.ServerSentEvent(data={"bye": 1}, event="bye", id="9")
    response_class = sse_fast_sse.EventSourceResponse.with_options(farewell=bye)
    assert response_class.stream_options.farewell == native_frame(bye)


def test_options_are_inherited_and_overridden() -> None:
    quiet = sse_fast_sse.EventSourceResponse.with_options(ping=0, send_timeout=5)
    patient = quiet.with_options(send_timeout=30)
    assert (patient.ping, patient.send_timeout, patient.shutdown_grace_period) == (0, 30, 0)
    assert sse_fast_sse.EventSourceResponse.ping == 15
    assert issubclass(patient, native_sse.EventSourceResponse)


single_line = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\0"))
any_text = st.text(st.characters(blacklist_categories=["Cs"]))
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=8,
)


def native_frame(event: native_sse.ServerSentEvent) -> bytes:
    """What FastAPI's request handler writes for a yielded ``ServerSentEvent``."""
    if event.raw_data is not None:
        data: str | None = event.raw_data
    elif event.data is not None:
        data = json.dumps(sse_fast_sse._finite(event.data))
    else:
        data = None
    return native_sse.format_sse_event(
        data_str=data, event=event.event, id=event.id, retry=event.retry, comment=event.comment
    )


@given(
    data=st.none() | json_value,
    raw_data=st.none() | any_text,
    event=st.none() | single_line,
    id=st.none() | single_line,
    retry=st.none() | st.integers(min_value=0, max_value=2**40),
    comment=st.none() | any_text,
)
def test_every_event_is_framed_as_fastapi_frames_it(
    data: Any, raw_data: str | None, event: str | None, id: str | None, retry: int | None,
    comment: str | None,
) -> None:  # fmt: skip
    if data is not None and raw_data is not None:
        data = None
    item = native_sse.ServerSentEvent(
        data=data, raw_data=raw_data, event=event, id=id, retry=retry, comment=comment
    )
    assert sse_fast_sse.frame_event(item) == native_frame(item)


def framed_items_app(*, included: bool) -> FastAPI:
    """``/framed`` yields an item that only the engine can send (native would fail to
    JSON-encode it), on a route of the app or of an included router."""
    router = APIRouter(route_class=sse_fast_sse.EventSourceRoute)

    @router.get("/framed", response_class=sse_fast_sse.EventSourceResponse)
    async def framed() -> AsyncIterable[str]:
        yield Framed(b"data: sent as framed\n\n")  # type: ignore[misc]

    app = FastAPI()
    if included:
        app.include_router(router, prefix="/included")
    else:
        app.router.route_class = sse_fast_sse.EventSourceRoute
        app.router.routes.extend(router.routes)
    return app


def body_of(app: FastAPI, path: str) -> bytes:
    async def read() -> bytes:
        with anyio.fail_after(5):
            async with stream(app, path) as response:
                return await response.read_until(b"\n\n")

    return anyio.run(read)


def test_an_included_routers_route_is_built_from_its_inclusion_context() -> None:
    # FastAPI builds the handler of an included route from a per-inclusion copy of the
    # route, found through its private context variable: the route class reads it.
    assert body_of(framed_items_app(included=True), "/included/framed") == (
        b"data: sent as framed\n\n"
    )


def test_without_fastapis_route_context_the_route_itself_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A FastAPI without the private variable (before per-inclusion contexts, or after
    # a public way replaces it): the route being built is the route itself.
    app = framed_items_app(included=False)
    route = app.router.routes[-1]
    assert isinstance(route, sse_fast_sse.EventSourceRoute)
    monkeypatch.delattr(fastapi_routing, "_effective_route_context_var")
    assert sse_fast_sse._route_being_built(route) is route
    monkeypatch.undo()
    assert body_of(app, "/framed") == b"data: sent as framed\n\n"


def test_head_gets_the_stream_headers_and_no_body_and_the_generator_never_runs() -> None:
    app = FastAPI()
    app.router.route_class = sse_fast_sse.EventSourceRoute
    ran: list[str] = []

    @app.api_route(
        "/items", methods=["GET", "HEAD"], response_class=sse_fast_sse.EventSourceResponse
    )
    async def items() -> AsyncIterable[str]:
        ran.append("generator")
        yield "x"

    with TestClient(app) as client:
        reply = client.head("/items")
    assert (reply.status_code, reply.content, ran) == (200, b"", [])
    assert reply.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert reply.headers["cache-control"] == "no-cache"
