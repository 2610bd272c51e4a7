"""FastAPI: a drop-in for ``fastapi.sse`` with the sse_fast engine underneath.

    from fastapi import FastAPI
    from sse_fast.adapters.fastapi import EventSourceResponse, EventSourceRoute, ServerSentEvent

    app = FastAPI()
    app.router.route_class = EventSourceRoute

    @app.get("/items", response_class=EventSourceResponse)
    async def items() -> AsyncIterable[Item]:
        yield Item(name="spam")

FastAPI recognises its native SSE by a subclass check on ``response_class``
(``fastapi.sse.EventSourceResponse``) and then streams from a ``StreamingResponse``
that its request handler builds itself; there is no hook to stream otherwise. So
:class:`EventSourceResponse` subclasses FastAPI's (the route's state and the OpenAPI
document stay FastAPI's own: ``text/event-stream`` with the ``itemSchema`` of the
declared item type), and :class:`EventSourceRoute`, a route class, hands the items to
the engine instead. Requests, validation, dependencies and background tasks are still
FastAPI's: the route only replaces the path operation that FastAPI calls by one that
returns this module's response around the generator. Items are validated and framed
exactly as FastAPI does, so the bytes on the wire are the same.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
)
from dataclasses import replace
from typing import Annotated, Any, ClassVar

from fastapi import params
from fastapi import routing as fastapi_routing
from fastapi import sse as fastapi_sse
from fastapi.datastructures import DefaultPlaceholder
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import EndpointContext, ResponseValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

import sse_fast
from sse_fast.adapters import starlette as starlette_adapter
from sse_fast.adapters.asgi import stream_response
from sse_fast.stream import EventStream, StreamOptions

__all__ = [
    "EventSourceResponse",
    "EventSourceRoute",
    "LastEventID",
    "SendTimeoutError",
    "ServerSentEvent",
    "last_event_id",
    "lifespan",
]

ServerSentEvent = fastapi_sse.ServerSentEvent
"""FastAPI's own event model: the same fields and the same validation."""

SendTimeoutError = starlette_adapter.SendTimeoutError
last_event_id = starlette_adapter.last_event_id
lifespan = starlette_adapter.lifespan
"""``FastAPI(lifespan=lifespan(signals=True))``: open streams end when the app shuts down
(with ``signals``, at once on SIGINT/SIGTERM: uvicorn would wait for them)."""
LastEventID = Annotated[str, params.Depends(last_event_id)]
"""A path operation parameter: the request's ``Last-Event-ID`` as UTF-8 ("" if none)."""

DEFAULT_PING_INTERVAL = 15.0  # FastAPI's fixed interval, here the default
_PING = sse_fast.ServerSentEvent(comment="ping")
_SEPARATOR = "\n"

Frame = Callable[[Any], bytes]


def _finite(data: Any) -> Any:
    """NaN and infinity become ``null``, as FastAPI does before ``json.dumps``."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_finite(value) for value in data]
    return data


def _plain_json(value: Any) -> str:
    """An undeclared item or ``ServerSentEvent.data`` as FastAPI writes it.

    FastAPI runs ``jsonable_encoder`` then ``json.dumps`` with its default separators;
    for a pydantic model that is ``model_dump(mode="json", by_alias=True)``, taken
    here directly instead of walking the dumped dict a second time.
    """
    if isinstance(value, BaseModel):
        return json.dumps(_finite(value.model_dump(mode="json", by_alias=True)))
    return json.dumps(_finite(jsonable_encoder(value)))


def _data_frame(data: bytes) -> bytes:
    # JSON never holds a raw line break, so one data line is the whole frame.
    if b"\n" in data or b"\r" in data:
        return sse_fast.encode(data.decode(), sep=_SEPARATOR)
    return b"data: " + data + b"\n\n"


def frame_event(item: fastapi_sse.ServerSentEvent) -> bytes:
    """A ``fastapi.sse.ServerSentEvent`` in FastAPI's field order.

    FastAPI writes comment, event, data, id, retry; sse_fast's encoder writes the id
    first, so the id and retry of an event that has an id are appended here.
    """
    if item.raw_data is not None:
        data: str | None = item.raw_data
    elif item.data is None:
        data = None
    elif isinstance(item.data, BaseModel):
        data = item.data.model_dump_json()
    else:
        data = _plain_json(item.data)
    if item.id is None:
        return sse_fast.encode(
            data, event=item.event, retry=item.retry, comment=item.comment, sep=_SEPARATOR
        )
    head = sse_fast.encode(data, event=item.event, comment=item.comment, sep=_SEPARATOR)
    retry = b"" if item.retry is None else b"retry: %d\n" % item.retry
    return b"%sid: %s\n%s\n" % (head[:-1], item.id.encode(), retry)


def _frame_prepared(item: Any) -> bytes | None:
    """Events skip item validation: ``ServerSentEvent`` (FastAPI's or sse_fast's) and
    broker events (``__sse_frame__``)."""
    if isinstance(item, fastapi_sse.ServerSentEvent):
        return frame_event(item)
    if isinstance(item, sse_fast.ServerSentEvent):
        return item.encode(_SEPARATOR)
    frame = getattr(type(item), "__sse_frame__", None)
    if frame is not None:
        return bytes(frame(item, _SEPARATOR))
    return None


def _frame_plain(item: Any) -> bytes:
    prepared = _frame_prepared(item)
    if prepared is not None:
        return prepared
    return _data_frame(_plain_json(item).encode())


def _endpoint_context(route: Any) -> EndpointContext:
    """Where the path operation is, for the validation error's message."""
    endpoint = route.endpoint
    where = EndpointContext(function=getattr(endpoint, "__name__", repr(endpoint)))
    where["path"] = f"{','.join(sorted(route.methods))} {route.path}"
    with contextlib.suppress(OSError, TypeError):
        where["file"] = inspect.getsourcefile(endpoint) or ""
        where["line"] = inspect.getsourcelines(endpoint)[1]
    return where


def _instances_pass_as_they_are(item_type: Any) -> type[BaseModel] | None:
    """The declared pydantic model, if validating one of its instances returns it as is."""
    if not (isinstance(item_type, type) and issubclass(item_type, BaseModel)):
        return None
    if item_type.model_config.get("revalidate_instances", "never") != "never":
        return None
    return item_type


def item_framer(route: Any) -> Frame:
    """How ``route`` turns a yielded item into bytes: validated against the declared
    item type and dumped by pydantic (``dump_json``), or JSON-encoded as FastAPI does."""
    field = route.stream_item_field
    if field is None:
        return _frame_plain
    options = {
        "include": route.response_model_include,
        "exclude": route.response_model_exclude,
        "by_alias": route.response_model_by_alias,
        "exclude_unset": route.response_model_exclude_unset,
        "exclude_defaults": route.response_model_exclude_defaults,
        "exclude_none": route.response_model_exclude_none,
    }

    where = _endpoint_context(route)
    model = _instances_pass_as_they_are(route.stream_item_type)

    def frame(item: Any) -> bytes:
        if type(item) is model:
            # What validation would hand back unchanged, dumped by the model's own
            # serializer: the bytes of the TypeAdapter's dump_json, without its detour.
            return b"data: %s\n\n" % item.model_dump_json(**options).encode()
        prepared = _frame_prepared(item)
        if prepared is not None:
            return prepared
        value, errors = field.validate(item, {}, loc=("response",))
        if errors:
            raise ResponseValidationError(errors=errors, body=item, endpoint_ctx=where)
        return _data_frame(field.serialize_json(value, **options))

    return frame


async def _framed_async(items: AsyncIterable[Any], frame: Frame) -> AsyncIterator[bytes]:
    iterator = aiter(items)
    try:
        async for item in iterator:
            yield frame(item)
    finally:
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()  # the generator's finally runs now, not when it is collected


def _framed_sync(items: Iterable[Any], frame: Frame) -> Iterator[bytes]:
    iterator = iter(items)
    try:
        for item in iterator:
            yield frame(item)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def _framed(content: Any, frame: Frame | None) -> Any:
    """``content`` with ``frame`` applied to each item, by a generator around it."""
    if frame is None:
        return content
    if isinstance(content, AsyncIterable):
        return _framed_async(content, frame)
    return _framed_sync(content, frame)


async def _then(streaming: Awaitable[object], background: BackgroundTask) -> None:
    await streaming
    await background()


def _frame_direct(item: Any) -> bytes:
    """Content given to the response directly: text and bytes go out as they are (as
    from FastAPI's ``StreamingResponse``), anything else is framed like a yielded item."""
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode()
    return _frame_plain(item)


def _check_seconds(name: str, value: object) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number of seconds, got: {value!r}")
    if value < 0 or math.isnan(value):
        raise ValueError(f"{name} must be >= 0, got: {value!r}")


Farewell = fastapi_sse.ServerSentEvent | sse_fast.ServerSentEvent | bytes


def _farewell_frame(farewell: Farewell | None) -> sse_fast.ServerSentEvent | bytes | None:
    """FastAPI's event model is framed as it would be yielded; the engine checks the rest."""
    if isinstance(farewell, fastapi_sse.ServerSentEvent):
        return frame_event(farewell)
    return farewell


_DEFAULT_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class EventSourceResponse(fastapi_sse.EventSourceResponse):
    """``fastapi.sse.EventSourceResponse`` streamed by the sse_fast engine.

    As ``response_class=`` on a generator path operation of an :class:`EventSourceRoute`,
    the yielded items are validated and framed as FastAPI does. Built directly, its
    content is a sync or async iterable: ``str`` and ``bytes`` are written as they are,
    ``ServerSentEvent``, models and other values are framed like yielded items (a
    broker ``Subscription`` is such an iterable). Or it is an :class:`sse_fast.EventQueue`,
    whose items are those of any engine source (``str`` is an event's data) plus
    FastAPI's ``ServerSentEvent``, models and dicts, framed as when yielded.

    Engine options are class attributes; :meth:`with_options` makes a configured class:
    ``ping`` seconds between ``: ping`` comments (``0``: none), ``send_timeout`` ends
    the stream when the client stops reading, ``shutdown_grace_period`` is how long
    the generator may go on once the server is stopping, ``farewell`` (a
    ``ServerSentEvent`` or framed bytes) is the last event sent on shutdown. A subclass
    that sets them is checked when it is made.
    """

    ping: ClassVar[float] = DEFAULT_PING_INTERVAL
    send_timeout: ClassVar[float | None] = None
    shutdown_grace_period: ClassVar[float] = 0
    farewell: ClassVar[Farewell | None] = None
    # Every stream of a class shares one checked options object.
    stream_options: ClassVar[StreamOptions]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.stream_options = cls._make_options()

    @classmethod
    def _make_options(cls) -> StreamOptions:
        return StreamOptions(
            sep=_SEPARATOR,
            ping=cls.ping,
            ping_message=_PING,
            send_timeout=cls.send_timeout,
            shutdown_grace_period=cls.shutdown_grace_period,
            farewell=_farewell_frame(cls.farewell),
            cleanup_timeout=starlette_adapter.DEFAULT_CLEANUP_TIMEOUT,
            convert=_frame_plain,  # an EventQueue's FastAPI events, models and dicts
        )

    def __init__(
        self,
        content: AsyncIterable[Any] | Iterable[Any],
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.body_iterator = content  # type: ignore[assignment]
        self.status_code = status_code
        self.media_type = self.media_type if media_type is None else media_type
        self.background = background
        if headers or self.charset != Response.charset:
            self.init_headers({**_DEFAULT_HEADERS, **(headers or {})})
        else:  # the common case: the same header tuples for every stream
            defaults = tuple(_DEFAULT_HEADERS.items())
            self.raw_headers = list(starlette_adapter.initial_headers(self.media_type, defaults))
        self._frame: Frame = _frame_direct

    @classmethod
    def with_options(
        cls,
        *,
        ping: float | None = None,
        send_timeout: float | None = None,
        shutdown_grace_period: float | None = None,
        farewell: Farewell | None = None,
    ) -> type[EventSourceResponse]:
        """A subclass with these engine options (unset ones are inherited), checked now.

        ``response_class=EventSourceResponse.with_options(ping=5, send_timeout=30)``
        """
        given = {"ping": ping, "send_timeout": send_timeout,
                 "shutdown_grace_period": shutdown_grace_period}  # fmt: skip
        settings: dict[str, Any] = {
            name: value for name, value in given.items() if value is not None
        }
        for name, value in settings.items():
            _check_seconds(name, value)
        if farewell is not None:
            settings["farewell"] = farewell
        return type(cls.__name__, (cls,), {"__module__": cls.__module__, **settings})

    @classmethod
    def for_items(
        cls, items: AsyncIterable[Any] | Iterable[Any], frame: Frame, status_code: int
    ) -> EventSourceResponse:
        """The response around a path operation's generator; ``frame`` encodes an item."""
        response = cls(items, status_code=status_code)
        response._frame = frame
        return response

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
        # Not a coroutine function: the server awaits the stream's own coroutine, so an
        # idle stream holds no frame of this response's.
        content = self.body_iterator
        frame: Frame | None = self._frame
        if isinstance(content, sse_fast.EventQueue):
            # The engine serves the queue itself: a put writes through, and puts fail
            # once the stream has ended instead of filling a queue nobody reads.
            frame = None
        if scope["type"] != "http" or str(scope.get("method", "GET")).upper() == "HEAD":
            return self._as_starlette_response(_framed(content, frame))(scope, receive, send)
        if hasattr(type(content), "__sse_attach__"):
            # A broker subscription's pushed events skip the stream's framing: they are
            # framed here, before the stream sees them.
            content, frame = _framed(content, frame), None
        # The engine straight under this response, framing the items itself: an idle
        # stream holds one response and no generator of ours.
        stream = EventStream(
            content,
            options=self.stream_options,
            shutdown=starlette_adapter.AppStatus._shutdown_for_stream(),
            frame=frame,
        )
        streaming = stream_response(
            scope,
            receive,
            send,
            stream,
            [(k, v) for k, v in self.raw_headers if k != b"connection"],
            status=self.status_code,
        )
        if self.background is None:
            return streaming  # type: ignore[return-value]  # the server ignores its Outcome
        return _then(streaming, self.background)

    def _as_starlette_response(self, frames: Any) -> Response:
        """HEAD and websocket denials, as the Starlette adapter answers them."""
        options = self.stream_options
        response = starlette_adapter.EventSourceResponse(
            frames,
            status_code=self.status_code,
            media_type=self.media_type or "text/event-stream",
            background=self.background,
            ping=options.ping or 0,
            sep=_SEPARATOR,
            send_timeout=options.send_timeout,
        )
        response.raw_headers = self.raw_headers
        return response


EventSourceResponse.stream_options = EventSourceResponse._make_options()


Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_RESPONSE_PARAM = "sse_fast_sub_response"


def _route_being_built(route: APIRoute) -> Any:
    """The object whose state ``APIRoute.get_route_handler`` reads: the route itself, or
    the per-inclusion copy FastAPI builds when the route's router is included."""
    context_var = getattr(fastapi_routing, "_effective_route_context_var", None)
    context = None if context_var is None else context_var.get()
    if context is not None and getattr(context, "original_route", None) is route:
        return context
    return route


class EventSourceRoute(APIRoute):
    """A route class that streams ``EventSourceResponse`` path operations with sse_fast.

    ``APIRouter(route_class=EventSourceRoute)`` or ``app.router.route_class =
    EventSourceRoute``. Other path operations are served exactly as by ``APIRoute``.
    """

    def get_route_handler(self) -> Handler:
        route = _route_being_built(self)
        response_class = route.response_class
        if isinstance(response_class, DefaultPlaceholder):
            response_class = response_class.value
        if not (route.is_sse_stream and issubclass(response_class, EventSourceResponse)):
            return super().get_route_handler()
        dependant = route.dependant
        # FastAPI streams any EventSourceResponse subclass itself; with a plain response
        # class and an endpoint that returns a response, its handler solves the request
        # and hands the response back untouched, background tasks attached.
        route.dependant = replace(
            dependant,
            call=_returning_response(route, response_class),
            response_param_name=dependant.response_param_name or _RESPONSE_PARAM,
        )
        route.response_class = Response
        try:
            return super().get_route_handler()
        finally:
            route.dependant = dependant
            route.response_class = response_class


def _returning_response(
    route: Any, response_class: type[EventSourceResponse]
) -> Callable[..., Coroutine[Any, Any, Response]]:
    endpoint = route.dependant.call
    keeps_response = route.dependant.response_param_name is not None
    response_param = route.dependant.response_param_name or _RESPONSE_PARAM
    frame = item_framer(route)
    default_status = route.status_code

    async def respond(**values: Any) -> Response:
        sub_response: Response = (
            values[response_param] if keeps_response else values.pop(response_param)
        )
        items = endpoint(**values)
        status = sub_response.status_code or default_status or 200
        response = response_class.for_items(items, frame, status)
        response.raw_headers.extend(sub_response.headers.raw)
        return response

    # Not functools.wraps: FastAPI follows __wrapped__ and would see a generator again.
    respond.__name__ = getattr(endpoint, "__name__", respond.__name__)
    respond.__qualname__ = getattr(endpoint, "__qualname__", respond.__qualname__)
    respond.__module__ = getattr(endpoint, "__module__", respond.__module__)
    respond.__doc__ = endpoint.__doc__
    return respond
