"""``sse_starlette.sse``: sse_fast's names; anything else is a missing peer internal."""

from _peer_internal import missing_names

from sse_fast.adapters.starlette import (
    AppStatus,
    EventSourceResponse,
    JSONServerSentEvent,
    SendTimeoutError,
    ServerSentEvent,
)

__all__ = [
    "AppStatus",
    "EventSourceResponse",
    "JSONServerSentEvent",
    "SendTimeoutError",
    "ServerSentEvent",
]
__getattr__ = missing_names(__name__)
