"""An adapter whose framework is missing says which extra installs it."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("framework", ["starlette", "aiohttp"])
def test_missing_framework_names_the_extra_to_install(framework: str) -> None:
    # None in sys.modules makes the framework's import fail as if it were not installed.
    code = (
        f"import sys; sys.modules[{framework!r}] = None\n"
        f"try:\n    import sse_fast.adapters.{framework}\n"
        "except ModuleNotFoundError as exc:\n    print(exc.name, exc, sep='|')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    name, message = result.stdout.strip().split("|")
    assert name == framework
    assert message == (
        f"sse_fast.adapters.{framework} needs {framework}, which is not installed: "
        f"pip install 'sse-fast[{framework}]'"
    )
