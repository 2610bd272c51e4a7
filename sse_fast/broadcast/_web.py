"""What every web adapter needs around a subscription: the client's cursor, authorization."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from sse_fast.adapters.asgi import last_event_id_of

from ._backend import BrokerUnavailable, TooManySubscribers, check_topic
from ._broker import Broker
from ._hub import Subscription

__all__ = ["Authorize", "Refusal", "is_authorized", "last_event_id", "open_subscription"]

QUERY_PARAMETER = "last_event_id"

# authorize(request, topic) -> bool, or an awaitable of it.
Authorize = Callable[[Any, str], "bool | Awaitable[bool]"]


def last_event_id(request: Any) -> str | None:
    """The cursor a client resumes from: ``Last-Event-ID``, else ``?last_event_id=``.

    The header wins (a browser's ``EventSource`` sends it on every reconnect; the query
    parameter is how a page hands over a cursor on the first connect, which cannot carry
    headers). ``request`` is a Starlette request, an ``sse_fast.adapters.asgi.Request``,
    an ASGI scope or an aiohttp request. ``None`` when neither is given.
    """
    scope = request if isinstance(request, Mapping) else getattr(request, "scope", None)
    if isinstance(scope, Mapping) and "headers" in scope:
        header = last_event_id_of(dict(scope))
        if header:
            return header
        query = scope.get("query_string", b"")
        for name, value in parse_qsl(bytes(query).decode("latin-1")):
            if name == QUERY_PARAMETER and value:
                return value
        return None
    value = request.headers.get("Last-Event-ID") or request.query.get(QUERY_PARAMETER)
    return str(value) if value else None


async def is_authorized(authorize: Authorize | None, request: Any, topic: str) -> bool:
    """Run an ``authorize(request, topic)`` hook, sync or async (``None`` allows all)."""
    if authorize is None:
        return True
    allowed = authorize(request, topic)
    if inspect.isawaitable(allowed):
        allowed = await allowed
    if not isinstance(allowed, bool):
        raise TypeError(f"authorize must return a bool, got {allowed!r}")
    return allowed


class Refusal(NamedTuple):
    """Why a subscribe request gets no stream: the HTTP status and a short text."""

    status: int
    text: str


async def open_subscription(
    broker: Broker, request: Any, topic: str, authorize: Authorize | None
) -> Subscription | Refusal:
    """Everything before a topic's response starts: name check, hook, cursor, handshake."""
    try:
        check_topic(topic)
    except ValueError as error:
        return Refusal(400, str(error))
    if not await is_authorized(authorize, request, topic):
        return Refusal(403, "forbidden")
    subscription = broker.subscribe(topic, last_event_id=last_event_id(request))
    try:
        await subscription.open()
    except BrokerUnavailable as error:
        return Refusal(503, f"broker unavailable: {error}")
    except TooManySubscribers as error:
        return Refusal(503, str(error))
    return subscription
