"""A topic as an aiohttp handler's response.

    async def events(request):
        return await subscribe_response(broker, request, request.match_info["topic"],
                                        authorize=may_read)

``authorize(request, topic)`` (sync or async) runs before the response starts: denied
means ``403`` and no SSE bytes. The cursor is ``Last-Event-ID``, else the
``last_event_id`` query parameter.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sse_fast.adapters.aiohttp import stream

from ._backend import BrokerUnavailable, check_topic
from ._broker import Broker
from ._web import Authorize, is_authorized, last_event_id

__all__ = ["subscribe_response"]


async def subscribe_response(
    broker: Broker,
    request: web.Request,
    topic: str,
    *,
    authorize: Authorize | None = None,
    headers: dict[str, str] | None = None,
    **options: Any,
) -> web.StreamResponse:
    """Stream ``topic`` from the request's cursor until the client leaves, or answer an error.

    ``400`` for an invalid topic name, ``403`` when ``authorize`` denies, ``503`` when
    the backend is unreachable; all before any SSE byte. The stream's ``SSE-Replay``
    header says ``none``, ``complete`` or ``reset``. ``options`` go to
    :func:`sse_fast.adapters.aiohttp.stream` (``ping_interval``, ``sep``, ...).
    """
    try:
        check_topic(topic)
    except ValueError as error:
        return web.Response(status=400, text=str(error))
    if not await is_authorized(authorize, request, topic):
        return web.Response(status=403, text="forbidden")
    subscription = broker.subscribe(topic, last_event_id=last_event_id(request))
    try:
        await subscription.open()
    except BrokerUnavailable as error:
        return web.Response(status=503, text=f"broker unavailable: {error}")
    try:
        return await stream(
            request,
            subscription,
            headers={**(headers or {}), "SSE-Replay": subscription.replay},
            **options,
        )
    finally:
        await subscription.close()
