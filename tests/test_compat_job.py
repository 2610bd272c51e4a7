"""The drop-in promise, checked from outside (issue 12), and the job that checks it.

The first programs of sse-starlette's README (its 0.5.1 sdist, downloaded at run time
like the peers' suites of ``make compat``) run under uvicorn with only their import
changed; the README's difference tables are the expected failures of ``make compat``;
and the pytest plugin of ``make compat`` fails a run that strays from its list.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from types import ModuleType

import pytest
from servers import RawClient, free_port, running, server_command

ROOT = Path(__file__).resolve().parents[1]
PEER_IMPORT = "from sse_starlette.sse import EventSourceResponse"
OUR_IMPORT = "from sse_fast.adapters.starlette import EventSourceResponse"


def compat_run() -> ModuleType:
    """``compat/run.py``, which downloads sdists and writes the README's tables."""
    sys.path.insert(0, str(ROOT / "compat"))
    try:
        spec = importlib.util.spec_from_file_location("compat_run", ROOT / "compat" / "run.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["compat_run"] = module  # its dataclass looks itself up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "compat"))


@pytest.fixture(scope="module")
def seed_programs() -> list[str]:
    """The Python blocks of sse-starlette 0.5.1's README, with our import."""
    run = compat_run()
    seed = run.Peer("sse-starlette", "0.5.1", "sse-starlette")
    run.download(seed)
    with tarfile.open(seed.sdist) as archive:
        member = archive.extractfile(f"{seed.sdist_name}/README.md")
        assert member is not None
        readme = member.read().decode()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    assert len(blocks) >= 2, "the seed's README has changed shape"
    return blocks


def test_the_numbers_program_runs_unchanged_but_for_the_import(
    seed_programs: list[str], tmp_path: Path
) -> None:
    program = seed_programs[0]
    assert program.count(PEER_IMPORT) == 1
    (tmp_path / "readme_numbers.py").write_text(program.replace(PEER_IMPORT, OUR_IMPORT))
    port = free_port()
    command = server_command("uvicorn", "readme_numbers:app", port)
    with running(command, port, cwd=tmp_path) as server, RawClient(server.port, "/") as client:
        body = client.read_all(timeout=15)
    assert client.status == 200
    assert body == b"".join(b"data: %d\r\n\r\n" % n for n in range(1, 6))


# The README shows the loop as a handler only: these lines make it an app around it.
LOOP_APP = """\
import asyncio
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
{import_line}

logging.basicConfig(filename="loop.log", level=logging.INFO)
_log = logging.getLogger("readme")

{handler}
app = Starlette(routes=[Route("/endless", endless)])
"""


def test_the_is_disconnected_loop_runs_unchanged_but_for_the_import(
    seed_programs: list[str], tmp_path: Path
) -> None:
    handler = seed_programs[1]
    assert "await req.is_disconnected()" in handler
    (tmp_path / "readme_loop.py").write_text(
        LOOP_APP.format(import_line=OUR_IMPORT, handler=handler)
    )
    port = free_port()
    command = server_command("uvicorn", "readme_loop:app", port)
    with running(command, port, cwd=tmp_path) as server:
        for _ in range(2):  # a client that leaves does not disturb the next one
            with RawClient(server.port, "/endless") as client:
                body = client.read_until(b"data: 3\r\n\r\n")
            assert body.startswith(b"data: 1\r\n\r\ndata: 2\r\n\r\n")
        time.sleep(0.5)  # time for the server to notice the second client left
    # SIGTERM ended it (uvicorn re-raises the signal once shut down), not the SIGKILL
    # that running() sends to a server still up after 10 s.
    assert server.process.returncode in (0, -signal.SIGTERM), "shutdown was held up"
    log = (tmp_path / "loop.log").read_text()
    assert "Traceback" not in log, log
    assert "Exception" not in log, log


def test_readme_difference_tables_are_the_expected_failures() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("<!-- compat tables: start -->\n") + len("<!-- compat tables: start -->\n")
    end = readme.index("<!-- compat tables: end -->")
    assert readme[start:end] == compat_run().tables(), "run: python compat/run.py --tables"


# ---------------------------------------------------------------- the plugin's strictness

SUITE = """\
def test_passes():
    pass

def test_fails():
    raise AssertionError("fails")
"""


def run_with_expected(tmp_path: Path, expected: dict[str, str]) -> tuple[int, str]:
    """Run a two-test suite under ``compat_plugin`` with ``expected`` as the list."""
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "compat_expected.py").write_text(
        f"EXPECTED = {{'sse-starlette': {expected!r}}}\n"
        "NOT_STRICT = frozenset()\nNOT_RUN = frozenset()\n"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_suite.py").write_text(SUITE)
    path = os.pathsep.join([str(tmp_path / "fake"), str(ROOT / "compat")])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "compat_plugin", "--compat-peer=sse-starlette",
         "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


def test_the_plugin_passes_when_exactly_the_listed_tests_fail(tmp_path: Path) -> None:
    status, output = run_with_expected(tmp_path, {"tests/test_suite.py::test_fails": "why"})
    assert status == 0, output
    assert "sse-starlette: 1 of 2 pass" in output


def test_the_plugin_fails_on_a_failure_outside_the_list(tmp_path: Path) -> None:
    status, output = run_with_expected(tmp_path, {})
    assert status == 1, output


def test_the_plugin_fails_when_a_listed_test_passes(tmp_path: Path) -> None:
    expected = {"tests/test_suite.py::test_fails": "why", "tests/test_suite.py::test_passes": "x"}
    status, output = run_with_expected(tmp_path, expected)
    assert status == 1, output
    assert "XPASS(strict)" in output


def test_the_plugin_fails_when_a_listed_test_is_gone(tmp_path: Path) -> None:
    expected = {"tests/test_suite.py::test_fails": "why", "tests/test_suite.py::test_gone": "x"}
    status, output = run_with_expected(tmp_path, expected)
    assert status != 0, output
    assert "listed as expected failures but not collected" in output
