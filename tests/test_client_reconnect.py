"""Backoff and reconnection schedules, driven by a fake clock: no test here sleeps."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import httpx
import pytest
import requests
from servers import free_port
from sse_server import Reply, server_in_thread

from sse_fast.client import Backoff, Reconnecting, connect, connect_sync
from sse_fast.client._reconnect import Reconnection

TIMEOUT = 20


def half() -> float:
    return 0.5


def test_a_stream_that_ended_waits_exactly_the_retry_time() -> None:
    assert Backoff(random=half).delay(3.0, failures=0) == 3.0


def test_failures_in_a_row_double_the_wait_plus_jitter() -> None:
    backoff = Backoff(random=half)  # jitter 0.5 x random 0.5: +25%
    assert [backoff.delay(1.0, n) for n in range(1, 6)] == [1.25, 2.5, 5.0, 10.0, 20.0]


def test_the_wait_is_capped_before_jitter() -> None:
    backoff = Backoff(max_delay=5, random=half)
    assert [backoff.delay(1.0, n) for n in (3, 4, 10, 1000)] == [5.0, 6.25, 6.25, 6.25]


def test_the_cap_never_cuts_below_the_servers_retry_time() -> None:
    assert Backoff(max_delay=1, jitter=0).delay(10.0, failures=4) == 10.0


def test_jitter_spans_zero_to_the_given_fraction() -> None:
    assert Backoff(jitter=0.5, random=lambda: 0.0).delay(2.0, 1) == 2.0
    assert Backoff(jitter=0.5, random=lambda: 0.999).delay(2.0, 1) == pytest.approx(2.999)
    assert Backoff(jitter=0).delay(2.0, 2) == 4.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_delay": -1}, "max_delay must be >= 0 seconds, got -1"),
        ({"multiplier": 0.5}, "multiplier must be >= 1, got 0.5"),
        ({"jitter": 2}, "jitter must be between 0 and 1, got 2"),
    ],
)
def test_bad_backoff_is_named(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        Backoff(**options)


def test_reconnection_plans_times_from_now_and_resets_after_a_stream_opens() -> None:
    reconnection = Reconnection(Backoff(jitter=0), max_reconnects=None)
    error = OSError("refused")

    def plan(now: float, failed: bool) -> tuple[float, int]:
        result = reconnection.next(
            now, retry_ms=1000, reason="x", error=error if failed else None, last_event_id=""
        )
        assert result is not None
        return result[0], result[1].attempt

    assert plan(100.0, failed=True) == (101.0, 1)
    assert plan(101.0, failed=True) == (103.0, 2)
    assert plan(103.0, failed=True) == (107.0, 3)
    reconnection.opened()
    assert plan(200.0, failed=False) == (201.0, 4)  # the stream ended: the retry time
    assert plan(201.0, failed=True) == (202.0, 5)  # the first failure after a success


def test_max_reconnects_is_a_count_of_reconnections() -> None:
    reconnection = Reconnection(Backoff(), max_reconnects=2)
    plans = [
        reconnection.next(0.0, retry_ms=10, reason="x", error=None, last_event_id="")
        for _ in range(3)
    ]
    assert [plan is not None for plan in plans] == [True, True, False]
    assert reconnection.reconnects == 2


class FakeTime:
    """A clock that moves only when the client waits; the server starts listening
    (on a port refused until then) at the wait numbered ``open_at``."""

    def __init__(self, port: int, open_at: int, script: list[Reply]) -> None:
        self.now = 1000.0
        self.waits: list[float] = []
        self.port = port
        self.open_at = open_at
        self.script = script
        self.stack = contextlib.ExitStack()
        self.server: Any = None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 6))
        self.now += seconds
        if len(self.waits) == self.open_at:
            self.server = self.stack.enter_context(server_in_thread(self.script, self.port))

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


SCRIPT = [
    Reply([b"id: 1\ndata: a\n\n"], drop=True),  # opens (resets the count), then is cut
    Reply([b"id: 2\ndata: b\n\n"]),
    Reply(status=204),
]
# retry 100 ms, jitter +25%: three refusals (0.125, 0.25, 0.5), then the stream opens and
# is cut (the first failure again: 0.125), then it ends normally (exactly the retry time).
EXPECTED_WAITS = [0.125, 0.25, 0.5, 0.125, 0.1]


@pytest.mark.parametrize("backend", ["httpx", "requests"])
def test_refused_connections_back_off_then_reset_sync(backend: str) -> None:
    port = free_port()
    fake = FakeTime(port, open_at=3, script=SCRIPT)
    reports: list[Reconnecting] = []
    client: Any = requests.Session() if backend == "requests" else httpx.Client(timeout=10)
    with fake.stack, client:
        source = connect_sync(
            client,
            f"http://127.0.0.1:{port}/events",
            retry=100,
            backoff=Backoff(random=half),
            on_reconnect=reports.append,
        )
        source._clock = fake.clock
        source._sleep = fake.sleep
        with source:
            events = [event.data for event in source]
    assert events == ["a", "b"]
    assert fake.waits == EXPECTED_WAITS
    assert [r.reason.split(":")[0] for r in reports] == [
        "could not connect", "could not connect", "could not connect", "connection lost",
        "the stream ended"]  # fmt: skip
    assert [r.last_event_id for r in reports] == ["", "", "", "1", "2"]


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
def test_refused_connections_back_off_then_reset_async(backend: str) -> None:
    import aiohttp

    port = free_port()
    fake = FakeTime(port, open_at=3, script=SCRIPT)

    async def main() -> list[str]:
        client: Any = aiohttp.ClientSession() if backend == "aiohttp" else httpx.AsyncClient()
        async with client:
            source = connect(
                client, f"http://127.0.0.1:{port}/events", retry=100, backoff=Backoff(random=half)
            )
            source._clock = fake.clock
            source._sleep = fake.asleep
            async with source:
                return [event.data async for event in source]

    with fake.stack:
        events = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert events == ["a", "b"]
    assert fake.waits == EXPECTED_WAITS


def test_reconnections_are_logged_with_the_reason_and_the_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="sse_fast.client")
    with (
        server_in_thread([Reply([b"data: a\n\n"]), Reply(status=204)]) as server,
        httpx.Client(timeout=10) as client,
        connect_sync(client, server.url, retry=10) as source,
    ):
        assert [event.data for event in source] == ["a"]
    records = [r for r in caplog.records if r.name == "sse_fast.client"]
    assert [r.levelno for r in records] == [logging.INFO]
    assert records[0].getMessage() == (
        f"{server.url}: the stream ended; reconnecting in 0.0 s (attempt 1)"
    )
