"""``sse_starlette.event``: sse_fast's event classes; and ``ensure_bytes``."""

from _peer_internal import missing_names

from sse_fast.adapters.starlette import JSONServerSentEvent, ServerSentEvent, ensure_bytes

__all__ = ["JSONServerSentEvent", "ServerSentEvent", "ensure_bytes"]
__getattr__ = missing_names(__name__)
