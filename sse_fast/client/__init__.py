"""Read Server-Sent Events from HTTP responses, reconnecting like a browser, and more.

Async through ``httpx.AsyncClient``, ``httpx2.AsyncClient`` or
``aiohttp.ClientSession``; sync through ``httpx.Client``, ``httpx2.Client`` or
``requests.Session``. Nothing here imports a library until given one of its objects.

    async with sse_fast.client.connect(http_client, url) as source:
        async for event in source:
            print(event.event, event.id, event.data)

    with sse_fast.client.connect_sync(session, url) as source:
        for event in source:
            print(event.json())

``connect()`` and ``connect_sync()`` follow the EventSource processing model (WHATWG
HTML §9.2.3): ``Accept: text/event-stream``, ``Last-Event-ID`` on reconnection, the
stream's ``retry`` time, and an HTTP 204 ends the iteration; any other status than
200, or a Content-Type other than ``text/event-stream``, raises ``EventStreamError``.
Beyond browsers: backoff with jitter after failures (``Backoff``), ``max_reconnects``,
``idle_timeout`` for connections that died silently, and ``on_reconnect`` to hear why
and when the next attempt comes.

``aiter_events(response)`` / ``iter_events(response)`` decode one response already
opened, without reconnecting.
"""

from ._event import Event, EventStreamError, Reconnecting
from ._options import DEFAULT_RETRY
from ._reconnect import Backoff
from ._response import aiter_events, iter_events
from ._source import EventSource, SyncEventSource, connect, connect_sync

__all__ = [
    "DEFAULT_RETRY",
    "Backoff",
    "Event",
    "EventSource",
    "EventStreamError",
    "Reconnecting",
    "SyncEventSource",
    "aiter_events",
    "connect",
    "connect_sync",
    "iter_events",
]
