"""The peers' tests that fail against sse_fast on purpose, each with its reason.

Keys are pytest node ids in the peer's sdist; values say why. A reason is one of three
kinds: a peer internal that sse_fast deliberately lacks, a documented difference (the
README's tables), or ``engine:`` work that another change is making, after which the
test passes and must leave this list (the run fails on a listed test that passes). The
README's difference tables are generated from this list (``python compat/run.py
--tables``) and a test checks that they match it.
"""

from __future__ import annotations

# ---------------------------------------------------------------- sse-starlette 3.7.0

WATCHER = (
    "peer internal: the shutdown watcher, its per-thread state and uvicorn introspection "
    "(`_get_shutdown_state`, `_ensure_watcher_started_on_this_loop`, `_get_uvicorn_server`, "
    "`signal.getsignal`). sse_fast has no watcher task: the app's lifespan (and SIGINT/SIGTERM "
    "with `lifespan(signals=True)`) drains streams through `Shutdown`; "
    "`AppStatus.should_exit` drives the same"
)
PING_LOOP = (
    "peer internal: the ping task's `anyio.sleep` and `_send_lock`, patched by the test. "
    "sse_fast pings from one timer per connection, with no lock"
)
EXAMPLE = (
    "tests the peer's `examples/02_broadcasting.py`, which its sdist does not ship "
    "(an example app, not the library)"
)
CHUNK_LOG = (
    "the peer's `httpx_client` fixture (its sdist ships no conftest) and its per-event "
    "debug log `chunk: ...`: sse_fast logs nothing per event, by design"
)
RETRY_MESSAGE = (
    "documented difference: a bad `retry` is a `TypeError` that starts with the peer's words "
    "and goes on to say what is accepted and what was given (`retry argument must be int "
    "(milliseconds) or datetime.timedelta, not str`); the test compares the whole message"
)
READ_AHEAD = (
    "documented difference: the source runs ahead of a stalled send (the engine buffers "
    "up to 256 events or 64 KiB, then waits), so one more item is requested"
)
NOT_AN_EVENT = (
    "documented difference: an item that is not an event, dict, str, bytes or number is "
    "a `TypeError`, not `str(item)`"
)
SEND_TIMEOUT = (
    "documented difference: a send timeout resets the client's connection and logs one line; "
    "`SendTimeoutError` is not raised out of the response (the server would log a traceback)"
)

_IDS_152 = (
    "test_single_watcher_per_thread",
    "test_watcher_broadcasts_to_all_events",
    "test_rapid_ensure_calls_spawn_single_watcher",
    "test_event_removal_during_broadcast_is_safe",
    "test_watcher_cleanup_allows_restart",
)
_IDS_132 = (
    "TestUvicornServerIntrospection::test_returns_server_when_handler_is_bound_method",
    "TestUvicornServerIntrospection::test_returns_none_when_handler_is_sig_dfl",
    "TestUvicornServerIntrospection::test_returns_none_when_handler_is_sig_ign",
    "TestUvicornServerIntrospection::test_returns_none_when_handler_lacks_self",
    "TestUvicornServerIntrospection::test_returns_none_when_self_lacks_should_exit",
    "TestUvicornServerIntrospection::test_returns_none_on_exception",
    "TestShutdownWatcherDualSource::test_detects_appstatus_should_exit",
    "TestShutdownWatcherDualSource::test_detects_uvicorn_server_should_exit",
    "TestShutdownWatcherDualSource::test_fallback_when_no_uvicorn_server",
)
_IDS_MULTI_LOOP = (
    "TestMultiLoopSafety::test_same_thread_shares_state",
    "TestMultiLoopSafety::test_thread_isolation",
    "TestIssue149HandleExitSignaling::test_all_tasks_share_same_shutdown_state",
    "TestUvicornIntrospection::test_uvicorn_should_exit_ignored_when_disabled",
)
_IDS_EXAMPLE = (
    "test_addClient_whenCalled_thenQueueIsBounded",
    "test_broadcast_whenClientQueueFull_thenSlowClientEvictedAndPeerUnaffected",
    "test_anext_whenCancelled_thenClientRemoved",
    "test_aclose_whenCalled_thenClientRemoved",
    "test_anext_whenCalledAfterAclose_thenRaisesStopAsyncIteration",
    "test_aiter_whenCalledAfterAclose_thenStreamStaysUnregistered",
    "test_init_whenMaxQueueSizeNotPositive_thenRaisesValueError[0]",
    "test_init_whenMaxQueueSizeNotPositive_thenRaisesValueError[-1]",
)
_SSE = "tests/test_sse.py::TestEventSourceResponse::"
_INTERRUPTED = _SSE + "test_send_whenInterrupted_thenClosesSuspendedGenerator"
_ENCODING = _SSE + "test_stream_whenEncodingFails_thenClosesSuspendedGenerator"
_217 = "tests/test_issue217.py::"
_STUCK = _217 + "test_send_whenInterruptedAndCleanupStuck_thenDeadlineCancelsCleanup"

SSE_STARLETTE: dict[str, str] = {
    **{f"tests/test_issue132.py::{test}": WATCHER for test in _IDS_132},
    **{f"tests/test_issue152.py::TestIssue152WatcherLeak::{test}": WATCHER for test in _IDS_152},
    **{f"tests/test_multi_loop.py::{test}": WATCHER for test in _IDS_MULTI_LOOP},
    _SSE + "test_ping_whenTimerTicks_thenSendsOneMessagePerTick": PING_LOOP,
    _SSE + "test_ping_whenSendTimesOut_thenRaisesSendTimeoutError": PING_LOOP,
    _SSE + "test_ping_whenConcurrentWithEvents_thenRespectsLocking": PING_LOOP,
    **{f"tests/test_broadcasting_example.py::{test}": EXAMPLE for test in _IDS_EXAMPLE},
    _SSE + "test_disconnect_whenClientDisconnects_thenHandlesGracefully": CHUNK_LOG,
    "tests/test_event.py::test_retry_is_int": RETRY_MESSAGE,
    _ENCODING + "[False-string]": NOT_AN_EVENT,
    _STUCK + "[timeout]": SEND_TIMEOUT,
    _INTERRUPTED + "[True-timeout]": SEND_TIMEOUT,
    _INTERRUPTED + "[True-disconnect]": READ_AHEAD,
    _INTERRUPTED + "[True-shutdown]": READ_AHEAD,
    _ENCODING + "[True-string]": NOT_AN_EVENT,
    _SSE + "test_send_whenTimeoutOccurs_thenRaisesSendTimeoutError": SEND_TIMEOUT,
    _INTERRUPTED + "[False-timeout]": SEND_TIMEOUT,
    _SSE + "test_ping_whenSendTimesOut_thenTearsDownResponseAndRunsCleanup": SEND_TIMEOUT,
}  # fmt: skip

# ---------------------------------------------------------------- aiohttp-sse 3.0


def _with_debug(test: str, flag: str) -> str:
    """The node id of ``test`` run with asyncio's debug mode ``flag`` (the conftest's)."""
    name, _, params = test.partition("[")
    return f"{name}[debug:{flag}-{params}" if params else f"{name}[debug:{flag}]"


_AIOHTTP_SSE: dict[str, str] = {
    "tests/test_sse.py::TestPingInterval::test_not_positive[zero]": (
        "documented difference: `ping_interval=0` turns pings off instead of raising"
    ),
    "tests/test_sse.py::test_ping_timeout": (
        "documented difference: `sep` must be `\\r\\n`, `\\n` or `\\r` (the test fills the "
        "socket with a 10 MB separator)"
    ),
    "tests/test_sse.py::test_ping_reset": (
        "peer internal: `_ping_task`; sse_fast pings from one timer per connection"
    ),
    "tests/test_sse.py::test_abort_when_transport_already_gone": (
        "peer internal: `_abort_transport()`; sse_fast's abort is internal to its send timeout"
    ),
}
# The conftest runs every test with asyncio's debug mode on and off, as the peer's does.
AIOHTTP_SSE: dict[str, str] = {
    _with_debug(test, flag): reason
    for test, reason in _AIOHTTP_SSE.items()
    for flag in ("true", "false")
}

# Tests whose outcome depends on timing on a loaded machine: listed, but not strict.
NOT_STRICT: frozenset[str] = frozenset()
# Listed tests that patch a peer internal sse_fast lacks and then may wait forever (the
# patched lock is never taken): reported as expected failures without being run.
NOT_RUN: frozenset[str] = frozenset(
    {_SSE + "test_ping_whenConcurrentWithEvents_thenRespectsLocking"}
)

EXPECTED: dict[str, dict[str, str]] = {"sse-starlette": SSE_STARLETTE, "aiohttp-sse": AIOHTTP_SSE}
