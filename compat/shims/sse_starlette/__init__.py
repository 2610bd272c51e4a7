"""sse-starlette's public names, answered by sse_fast (compatibility runs only)."""

from sse_fast.adapters.starlette import (
    EventSourceResponse,
    JSONServerSentEvent,
    ServerSentEvent,
)

__all__ = ["EventSourceResponse", "JSONServerSentEvent", "ServerSentEvent"]
