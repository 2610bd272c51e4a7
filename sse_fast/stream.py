"""The streaming engine's public names (the engine itself is in ``sse_fast._engine``).

from sse_fast.stream import EventStream, Shutdown, drain_on_signals
"""

from ._engine.options import StreamOptions
from ._engine.queue import EventQueue
from ._engine.shutdown import Shutdown, current_shutdown, drain_on_signals
from ._engine.started import StartedStream
from ._engine.stream import EventStream, Outcome, SendTimeoutError
from ._engine.threads import SYNC_SOURCE_THREADS

__all__ = [
    "SYNC_SOURCE_THREADS",
    "EventQueue",
    "EventStream",
    "Outcome",
    "SendTimeoutError",
    "Shutdown",
    "StartedStream",
    "StreamOptions",
    "current_shutdown",
    "drain_on_signals",
]
