"""Which framing twins this run tests.

``SSE_FAST_EXPECT_PURE=1`` says the installed package is a pure wheel (py3-none-any, no
``_framing_c``): only then do tests of the compiled twin leave the run (the "c"
parameter, and tests marked ``compiled``). Without it a missing compiled module fails.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

EXPECT_PURE = os.environ.get("SSE_FAST_EXPECT_PURE", "") not in ("", "0")
TWINS = ["py"] if EXPECT_PURE else ["c", "py"]


def server_env(twin: str) -> dict[str, str]:
    """The environment that makes a server process use ``twin``."""
    return {"SSE_FAST_NO_EXTENSIONS": "1" if twin == "py" else "0"}


def load_twin(name: str) -> ModuleType:
    # No skip: a missing compiled module must fail the run, not hide it.
    return importlib.import_module(f"sse_fast._framing_{name}")
