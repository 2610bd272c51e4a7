"""A topic as an aiohttp handler's response.

async def events(request):
    topic = request.match_info["topic"]
    return await subscribe_response(broker, request, topic, authorize=may_read)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sse_fast.adapters.aiohttp import stream

from ._broker import Broker
from ._web import Authorize, Refusal, open_subscription

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
    """Stream ``topic`` from the request's cursor until the client leaves, or refuse.

    As :func:`sse_fast.broadcast.starlette.subscribe_response` (cursor, ``400`` /
    ``403`` / ``503`` before any SSE byte, ``SSE-Replay``); ``options`` go to
    :func:`sse_fast.adapters.aiohttp.stream` (``ping_interval``, ``sep``...).
    """
    subscription = await open_subscription(broker, request, topic, authorize)
    if isinstance(subscription, Refusal):
        return web.Response(status=subscription.status, text=subscription.text)
    try:
        return await stream(
            request,
            subscription,
            headers={**(headers or {}), "SSE-Replay": subscription.replay},
            **options,
        )
    finally:
        await subscription.close()
