"""Run sse-starlette's and aiohttp-sse's own test suites against sse_fast.

    python compat/run.py [--tables] [PEER ...] [-- PYTEST ARGS]

Each peer's sdist is downloaded from PyPI at run time into ``build/compat/`` (nothing of
it is kept in this repository), its tests are extracted there without its package, the
fixtures its sdist leaves out are added from ``compat/peers/``, and pytest runs them with
``compat/shims`` first on the path: ``import sse_starlette`` and ``import aiohttp_sse``
then give sse_fast's adapters. ``compat_plugin`` holds the run to the expected failures
of ``compat_expected``. The exit status is non-zero when any run is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from compat_expected import EXPECTED

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = ROOT / "build" / "compat"
DEPS = BUILD / "deps"
# A hung test fails after this long instead of holding the run.
TEST_TIMEOUT = 60


@dataclass(frozen=True)
class Peer:
    dist: str
    version: str
    # The import name, which also names the sdist's file and folder (an old sdist's
    # follow the distribution name instead: pass that).
    package: str
    # Files of the sdist besides tests/ that the run needs (the pytest settings).
    keep: tuple[str, ...] = ()

    @property
    def sdist_name(self) -> str:
        return f"{self.package}-{self.version}"

    @property
    def sdist(self) -> Path:
        return BUILD / "sdists" / f"{self.sdist_name}.tar.gz"


PEERS = {
    "sse-starlette": Peer("sse-starlette", "3.7.0", "sse_starlette", keep=("pyproject.toml",)),
    "aiohttp-sse": Peer("aiohttp-sse", "3.0", "aiohttp_sse"),
}


def download(peer: Peer) -> None:
    if peer.sdist.exists():
        return
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--no-binary", ":all:", f"{peer.dist}=={peer.version}", "-d", str(peer.sdist.parent)],
        check=True,
    )  # fmt: skip
    if not peer.sdist.exists():
        raise SystemExit(f"pip download did not produce {peer.sdist}")


def extract(peer: Peer) -> Path:
    """The peer's tests (and ``keep`` files) in a fresh directory, without its package."""
    tree = BUILD / peer.sdist_name
    shutil.rmtree(tree, ignore_errors=True)
    prefix = peer.sdist_name + "/"
    with tarfile.open(peer.sdist) as archive:
        members = [
            member
            for member in archive.getmembers()
            if member.isfile()
            and member.name.startswith(prefix)
            and (
                member.name[len(prefix) :].startswith("tests/")
                or member.name[len(prefix) :] in peer.keep
            )
        ]
        archive.extractall(BUILD, members=members, filter="data")
    support = HERE / "peers" / peer.package
    if support.is_dir():
        shutil.copytree(support, tree, dirs_exist_ok=True)
    return tree


def run(name: str, pytest_args: list[str]) -> int:
    peer = PEERS[name]
    download(peer)
    tree = extract(peer)
    path = [str(HERE / "shims"), str(HERE), str(DEPS)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path), PYTHONDONTWRITEBYTECODE="1")
    command = [
        sys.executable, "-m", "pytest", "-p", "compat_plugin", "-p", "no:cacheprovider",
        f"--compat-peer={name}", f"--compat-summary={BUILD / (name + '.json')}",
        f"--timeout={TEST_TIMEOUT}", "-q", "--tb=short", "-rfEX", *pytest_args,
    ]  # fmt: skip
    if not any(not arg.startswith("-") for arg in pytest_args):
        command.append("tests")
    else:
        command.append("--compat-partial")
    print(f"--- {name} {peer.version} (in {tree.relative_to(ROOT)})", flush=True)
    return subprocess.run(command, cwd=tree, env=env).returncode


def tables() -> str:
    """The README's tables of expected failures, one per peer, written from the list."""
    sections = []
    for name, expected in EXPECTED.items():
        by_reason: dict[str, list[str]] = {}
        for node, reason in expected.items():
            by_reason.setdefault(reason, []).append(node.removeprefix("tests/"))
        rows = [
            f"| {reason} | {len(tests)} | {'<br>'.join(f'`{test}`' for test in tests)} |"
            for reason, tests in by_reason.items()
        ]
        sections.append(
            f"**{name} {PEERS[name].version}**: {len(expected)} expected failures.\n\n"
            "| why it fails against sse_fast | tests | peer tests |\n|---|---|---|\n"
            + "\n".join(rows)
        )
    return "\n\n".join(sections) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("peers", nargs="*", help=f"some of: {', '.join(PEERS)} (default: all)")
    parser.add_argument("--tables", action="store_true", help="print the README tables")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    pytest_args = argv[split + 1 :]
    if args.tables:
        print(tables(), end="")
        return 0
    for name in args.peers:
        if name not in PEERS:
            parser.error(f"unknown peer {name!r}: choose from {', '.join(PEERS)}")
    status = 0
    for name in args.peers or list(PEERS):
        status = run(name, pytest_args) or status
    return status


if __name__ == "__main__":
    sys.exit(main())
