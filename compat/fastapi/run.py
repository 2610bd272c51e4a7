"""Run the SSE tests that ship in FastAPI's sdist against the sse_fast FastAPI adapter.

    .venv/bin/python compat/fastapi/run.py [--fastapi 0.165.0] [--native] [pytest args]

Downloads the sdist of the installed FastAPI version (``pip download --no-binary``)
and its tests' extra dependency (inline-snapshot) into a temporary folder, never
into the repository, and runs every test file that mentions ``EventSourceResponse``
with ``sse_fast_shim`` loaded. ``--native`` runs them without the shim, for the
baseline. The exit status is pytest's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
# inline-snapshot and what it imports; pytest itself is the project's.
TEST_DEPENDENCIES = ["inline-snapshot==0.36.1", "asttokens", "executing", "rich", "markdown-it-py",
                     "mdurl", "pygments"]  # fmt: skip


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "-q", *args], check=True)


def fetch_tests(fastapi_version: str, into: Path) -> Path:
    """The sdist's source tree (tests/ and docs_src/), and the tests' dependencies."""
    pip("download", "--no-deps", "--no-binary", ":all:", f"fastapi=={fastapi_version}",
        "-d", str(into))  # fmt: skip
    (sdist,) = into.glob("fastapi-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(into, filter="data")
    pip("install", "--no-deps", "--target", str(into / "deps"), *TEST_DEPENDENCIES)
    return into / f"fastapi-{fastapi_version}"


def sse_test_files(source: Path) -> list[str]:
    return sorted(
        str(path.relative_to(source))
        for path in (source / "tests").rglob("test_*.py")
        if "EventSourceResponse" in path.read_text() or "server_sent_events" in str(path)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--fastapi", default=version("fastapi"), help="the sdist's version")
    parser.add_argument("--native", action="store_true", help="run without the shim")
    args, pytest_args = parser.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="fastapi-compat-") as folder:
        source = fetch_tests(args.fastapi, Path(folder))
        files = sse_test_files(source)
        shim = [] if args.native else ["-p", "sse_fast_shim"]
        env = dict(os.environ)
        path = [str(HERE), str(Path(folder) / "deps"), str(source)]
        env["PYTHONPATH"] = os.pathsep.join([*path, env.get("PYTHONPATH", "")])
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *shim, "-q",
                   "--rootdir", str(source), "-c", os.devnull, *files, *pytest_args]  # fmt: skip
        print(f"FastAPI {args.fastapi}: {len(files)} SSE test files, "
              f"{'native' if args.native else 'on sse_fast'}", flush=True)  # fmt: skip
        return subprocess.run(command, cwd=source, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
