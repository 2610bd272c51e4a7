"""A topic as a Starlette (or FastAPI) endpoint's response.

async def events(request):
    topic = request.path_params["topic"]
    return await subscribe_response(broker, request, topic, authorize=may_read)
"""

from __future__ import annotations

from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, Response

from sse_fast.adapters.starlette import EventSourceResponse

from ._broker import Broker
from ._web import Authorize, Refusal, open_subscription

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

    The cursor is ``Last-Event-ID``, else the ``last_event_id`` query parameter. Before
    any SSE byte: ``400`` for an invalid topic name, ``403`` when ``authorize(request,
    topic)`` (sync or async) denies, ``503`` when the backend is unreachable. The
    stream's ``SSE-Replay`` header says ``none``, ``complete`` or ``reset``. ``options``
    go to :class:`~sse_fast.adapters.starlette.EventSourceResponse` (``ping``, ``sep``...).
    """
    subscription = await open_subscription(broker, request, topic, authorize)
    if isinstance(subscription, Refusal):
        return PlainTextResponse(subscription.text, status_code=subscription.status)
    return EventSourceResponse(
        subscription,
        headers={**(headers or {}), "SSE-Replay": subscription.replay},
        background=BackgroundTask(subscription.close),
        **options,
    )
