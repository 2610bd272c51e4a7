"""Framing speed, side by side: sse_fast compiled, sse_fast pure and the peers.

Run with ``make bench``. Under ``make test`` (``--benchmark-disable``) every case runs
once and checks its output, so each row of the table is known to produce the same
bytes as the others.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from aiohttp_sse import EventSourceResponse as AiohttpSSEResponse
from pytest_benchmark.fixture import BenchmarkFixture
from sse_starlette import ServerSentEvent as StarletteEvent

compiled = importlib.import_module("sse_fast._framing_c")
pure = importlib.import_module("sse_fast._framing_py")


@dataclass(frozen=True)
class Workload:
    name: str
    data: str
    event: str | None = None
    id: str | None = None


W1 = Workload("W1 token", '{"token":"hello"}')
W2 = Workload(
    "W2 typed event, id, 100 B JSON",
    '{"user":"alice","action":"edit","doc":"reports/2026-11.md","ts":1764000000,"changes":[12,7,3]}',
    event="update",
    id="184467",
)
W3 = Workload(
    "W3 4 KiB, 64 newlines",
    (("The quick brown fox jumps over the lazy dog. " * 2)[:63] + "\n") * 64,
)
W4 = Workload("W4 1 MiB, a line every 80 chars", ("x" * 79 + "\n") * (1024 * 1024 // 80))
WORKLOADS = [W1, W2, W3, W4]


def expected_frame(w: Workload) -> bytes:
    return bytes(pure.encode(w.data, event=w.event, id=w.id))


def fields(w: Workload) -> dict[str, Any]:
    return {k: v for k, v in (("event", w.event), ("id", w.id)) if v is not None}


def starlette_frame(data: str, **kwargs: Any) -> bytes:
    return StarletteEvent(data, sep="\n", **kwargs).encode()


# Each row hands pytest-benchmark the function itself, so that no wrapper of ours is
# timed with it (a lambda costs about as much as the compiled encode does).
IMPLEMENTATIONS: dict[str, Callable[[Workload], tuple[Callable[..., bytes], tuple[str, ...]]]] = {
    "sse_fast compiled encode(data, ...)": lambda w: (compiled.encode, (w.data,)),
    "sse_fast compiled event.encode()": lambda w: (
        compiled.ServerSentEvent(w.data, **fields(w)).encode,
        (),
    ),
    "sse_fast pure encode(data, ...)": lambda w: (pure.encode, (w.data,)),
    "sse_fast pure event.encode()": lambda w: (
        pure.ServerSentEvent(w.data, **fields(w)).encode,
        (),
    ),
    "sse-starlette 3.7 event.encode()": lambda w: (
        StarletteEvent(w.data, sep="\n", **fields(w)).encode,
        (),
    ),
    "sse-starlette 3.7 ServerSentEvent(data, ...).encode()": lambda w: (
        starlette_frame,
        (w.data,),
    ),
}


@pytest.mark.parametrize("impl", list(IMPLEMENTATIONS))
@pytest.mark.parametrize("workload", WORKLOADS, ids=[w.name.split()[0] for w in WORKLOADS])
def test_encode(benchmark: BenchmarkFixture, workload: Workload, impl: str) -> None:
    benchmark.group = workload.name
    function, args = IMPLEMENTATIONS[impl](workload)
    kwargs = fields(workload) if args else {}
    assert benchmark(function, *args, **kwargs) == expected_frame(workload)


def test_encode_ceiling_str_replace(benchmark: BenchmarkFixture) -> None:
    """The bandwidth ceiling for W4: one str.replace plus encode over the same text."""
    benchmark.group = W4.name
    out = benchmark(lambda: W4.data.replace("\n", "\ndata: ").encode())
    assert len(out) == len(expected_frame(W4)) - len("data: ") - 2


# ---------------------------------------------------------------- 1,000 W1 events

TOKENS = [f'{{"token":"tok{i:03d}"}}' for i in range(1000)]
BATCH = "1,000 W1 events"


def expected_batch() -> bytes:
    return b"".join(bytes(pure.encode(t)) for t in TOKENS)


@pytest.mark.parametrize("twin", [compiled, pure], ids=["compiled", "pure"])
def test_batch_sse_fast_encode_many(benchmark: BenchmarkFixture, twin: ModuleType) -> None:
    benchmark.group = BATCH
    assert benchmark(twin.encode_many, TOKENS) == expected_batch()


@pytest.mark.parametrize("twin", [compiled, pure], ids=["compiled", "pure"])
def test_batch_sse_fast_encode_each(benchmark: BenchmarkFixture, twin: ModuleType) -> None:
    benchmark.group = BATCH
    encode = twin.encode
    assert benchmark(lambda: b"".join([encode(t) for t in TOKENS])) == expected_batch()


def test_batch_sse_starlette_encode_each(benchmark: BenchmarkFixture) -> None:
    benchmark.group = BATCH
    frames = benchmark(lambda: b"".join([StarletteEvent(t, sep="\n").encode() for t in TOKENS]))
    assert frames == expected_batch()


class _CollectingResponse(AiohttpSSEResponse):
    """aiohttp-sse frames only inside send(); a write() that keeps the bytes reaches it."""

    frames: list[bytes]

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        self.frames.append(bytes(data))


def test_batch_aiohttp_sse_send_each(benchmark: BenchmarkFixture) -> None:
    """aiohttp-sse 3.0 send() with no transport: its framing plus its per-send timeout."""
    benchmark.group = BATCH
    response = _CollectingResponse(sep="\n", send_timeout=None)
    loop = asyncio.new_event_loop()

    async def send_all() -> bytes:
        response.frames = []
        for token in TOKENS:
            await response.send(token)
        return b"".join(response.frames)

    try:
        assert benchmark(lambda: loop.run_until_complete(send_all())) == expected_batch()
    finally:
        loop.close()
