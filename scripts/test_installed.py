"""Run the test suite against the installed sse_fast: compiled, then pure.

Used by cibuildwheel's test-command and by ``make wheel``; Python rather than shell so
the same command works on Windows. Run it with the interpreter whose installation is
under test: ``python scripts/test_installed.py [--pure-wheel] [pytest args...]``.

* Default: the wheel must hold the compiled twin. The suite runs twice, the second
  time with ``SSE_FAST_NO_EXTENSIONS=1`` so the pure twin serves the public API.
* ``--pure-wheel``: the installation has no compiled twin (a py3-none-any wheel, or
  an sdist built without a compiler); one run with ``SSE_FAST_EXPECT_PURE=1``.

pytest runs from an empty temporary folder, so ``./sse_fast`` can never shadow the
installed package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"


def run_suite(label: str, extra_env: dict[str, str], pytest_args: list[str]) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_FAST_")}
    env.update(extra_env)
    command = [sys.executable, "-m", "pytest", str(TESTS), "-p", "no:cacheprovider", *pytest_args]
    print(f"== {label}: {' '.join(f'{k}={v}' for k, v in extra_env.items()) or '(no switch)'}")
    sys.stdout.flush()
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run(command, env=env, cwd=cwd, check=False).returncode


def main(argv: list[str]) -> int:
    if argv[:1] == ["--pure-wheel"]:
        return run_suite("pure wheel", {"SSE_FAST_EXPECT_PURE": "1"}, argv[1:])
    runs = [
        ("compiled twin", {"SSE_FAST_NO_EXTENSIONS": "0"}),
        ("pure twin", {"SSE_FAST_NO_EXTENSIONS": "1"}),
    ]
    failed = [label for label, env in runs if run_suite(label, env, argv) != 0]
    if failed:
        print(f"== failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
