"""Threads sharing events and lists: no crash, and every frame is whole.

On a free-threaded CPython these run truly in parallel; with the GIL they still check
that encode_many never mixes two states of a list into one buffer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Callable
from types import ModuleType

import pytest
from twins import EXPECT_PURE

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def run_in_threads(count: int, target: Callable[[], None]) -> None:
    barrier = threading.Barrier(count)

    def start() -> None:
        barrier.wait()
        target()

    threads = [threading.Thread(target=start) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_encode_many_on_a_list_another_thread_mutates(framing: ModuleType) -> None:
    shared: list[object] = ["x", framing.ServerSentEvent("x", id="1")] * 20
    outputs: list[bytes] = []
    stop = threading.Event()

    def mutate() -> None:
        while not stop.is_set():
            shared.append("x")
            shared.pop()
            shared[0] = framing.ServerSentEvent("x", id="1")
            shared[0] = "x"

    def encode() -> None:
        try:
            outputs.extend(framing.encode_many(shared) for _ in range(200))
        finally:
            stop.set()

    mutator = threading.Thread(target=mutate)
    mutator.start()
    run_in_threads(3, encode)
    mutator.join()
    frames = {b"data: x\n\n", b"id: 1\ndata: x\n\n"}
    for out in outputs:
        chunks = [c + b"\n\n" for c in out.split(b"\n\n")[:-1]]
        assert b"".join(chunks) == out
        assert set(chunks) <= frames
        assert 40 <= len(chunks) <= 41


def test_shared_events_encode_the_same_in_every_thread(framing: ModuleType) -> None:
    events = [framing.ServerSentEvent(f"data {i}\nline", event="e", id=str(i)) for i in range(50)]
    expected = framing.encode_many(events)
    results: list[bytes] = []

    def encode() -> None:
        results.extend(framing.encode_many(events) for _ in range(100))
        results.extend(b"".join(e.encode() for e in events) for _ in range(20))

    run_in_threads(4, encode)
    assert set(results) == {expected}


@pytest.mark.skipif(not FREE_THREADED or EXPECT_PURE, reason="needs a free-threaded CPython")
def test_compiled_twin_keeps_the_gil_disabled() -> None:
    # A module that does not declare free-threading support turns the GIL back on.
    code = "import sys, sse_fast._framing_c; print(sys._is_gil_enabled())"
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    assert result.stdout.strip() == "False"
