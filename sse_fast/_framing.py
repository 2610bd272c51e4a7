"""Select the framing twin: compiled unless told otherwise or unavailable.

``SSE_FAST_NO_EXTENSIONS`` (any value but "" or "0") selects the pure-Python twin;
so do non-CPython interpreters, and type checkers always see the pure twin, which
is the reference. A missing or broken compiled module falls back to pure Python.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

NO_EXTENSIONS = os.environ.get("SSE_FAST_NO_EXTENSIONS", "") not in ("", "0")

if TYPE_CHECKING or NO_EXTENSIONS or sys.implementation.name != "cpython":
    from ._framing_py import ServerSentEvent, encode, encode_many

    COMPILED = False
else:
    try:
        from ._framing_c import ServerSentEvent, encode, encode_many

        COMPILED = True
    except ImportError:  # pragma: no cover - only where the build fell back
        from ._framing_py import ServerSentEvent, encode, encode_many

        COMPILED = False

__all__ = ["COMPILED", "ServerSentEvent", "encode", "encode_many"]
