"""A topic as a Starlette (or FastAPI) endpoint's response.

    broker = Broker()

    async def events(request):
        return await subscribe_response(broker, request, request.path_params["topic"],
                                        authorize=may_read)

``authorize(request, topic)`` (sync or async) runs before the response starts: denied
means ``403`` and no SSE bytes. The cursor is ``Last-Event-ID``, else the
``last_event_id`` query parameter.
"""

from __future__ import annotations

from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, Response

from sse_fast.adapters.starlette import EventSourceResponse

from ._backend import BrokerUnavailable, check_topic
from ._broker import Broker
from ._web import Authorize, is_authorized, last_event_id

__all__ = ["subscribe_response"]


async def subscribe_response(
    broker: Broker,
    request: HTTPConnection,
    topic: str,
    *,
    authorize: Authorize | None = None,
    headers: dict[str, str] | None = None,
    **options: Any,
) -> Response:
    """The SSE response following ``topic`` from the request's cursor, or an error response.

    ``400`` for an invalid topic name, ``403`` when ``authorize`` denies, ``503`` when
    the backend is unreachable; all before any SSE byte. The stream's ``SSE-Replay``
    header says ``none``, ``complete`` or ``reset``. ``options`` go to
    :class:`~sse_fast.adapters.starlette.EventSourceResponse` (``ping``, ``sep``, ...).
    """
    try:
        check_topic(topic)
    except ValueError as error:
        return PlainTextResponse(str(error), status_code=400)
    if not await is_authorized(authorize, request, topic):
        return PlainTextResponse("forbidden", status_code=403)
    subscription = broker.subscribe(topic, last_event_id=last_event_id(request))
    try:
        await subscription.open()
    except BrokerUnavailable as error:
        return PlainTextResponse(f"broker unavailable: {error}", status_code=503)
    return EventSourceResponse(
        subscription,
        headers={**(headers or {}), "SSE-Replay": subscription.replay},
        background=BackgroundTask(subscription.close),
        **options,
    )
