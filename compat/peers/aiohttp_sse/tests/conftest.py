"""Fixtures for the peer's tests (their sdist leaves the conftest out), written for sse_fast.

aiohttp-sse runs its suite twice, with asyncio's debug mode on and off (118 tests from
59): so does this, so that the counts compare with the peer's own and debug mode's
checks (callbacks from the wrong thread, never-awaited coroutines, unclosed transports,
all errors under ``filterwarnings = error``) apply to the adapter too.
"""

from __future__ import annotations

import asyncio

import pytest


@pytest.fixture(params=[True, False], ids=["debug:true", "debug:false"])
def debug(request: pytest.FixtureRequest) -> bool:
    flag: bool = request.param
    return flag


@pytest.fixture(autouse=True)
async def loop_debug(debug: bool) -> None:
    asyncio.get_running_loop().set_debug(debug)
