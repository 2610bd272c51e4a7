"""aiohttp-sse's public names, answered by sse_fast (compatibility runs only)."""

from _peer_internal import missing_names

from sse_fast.adapters.aiohttp import EventSourceResponse, sse_response

__all__ = ["EventSourceResponse", "sse_response"]
__getattr__ = missing_names(__name__)
