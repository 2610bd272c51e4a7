"""Fast, correct Server-Sent Events.

Framing (``ServerSentEvent``, ``encode``, ``encode_many``) and decoding (``Decoder``)
run in a compiled core when one was built for this interpreter and in an identical
pure-Python twin otherwise; ``COMPILED`` tells which. Set ``SSE_FAST_NO_EXTENSIONS=1`` before
import to force the pure twin.
"""

from ._decoder import Decoder
from ._engine.queue import EventQueue
from ._errors import EventTooLarge
from ._framing import COMPILED, ServerSentEvent, encode, encode_many
from ._json import encode_json, json_event

__version__ = "0.1.0"

__all__ = [
    "COMPILED",
    "Decoder",
    "EventQueue",
    "EventTooLarge",
    "ServerSentEvent",
    "__version__",
    "encode",
    "encode_json",
    "encode_many",
    "json_event",
]
