"""Select the decoder twin: the compiled one exactly when the framing twin is compiled.

The compiled decoder builds compiled events, so it is used only alongside the compiled
framing twin (``_framing.COMPILED``); then ``sse_fast.Decoder`` returns events of the
type ``sse_fast.ServerSentEvent`` names. Type checkers see the pure twin, the reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._framing import COMPILED

if TYPE_CHECKING or not COMPILED:
    from ._decoder_py import Decoder
else:
    try:
        from ._decoder_c import Decoder
    except ImportError:  # pragma: no cover - only where one extension failed to build
        from ._decoder_py import Decoder

__all__ = ["Decoder"]
