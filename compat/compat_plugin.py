"""A pytest plugin for the compatibility runs: the expected failures, strictly.

Loaded with ``-p compat_plugin --compat-peer NAME``. Every test listed for the peer in
:mod:`compat_expected` gets a strict ``xfail`` mark (its reason is the list's), so the
run fails when a test outside the list fails *and* when a listed one passes; a listed
test that is no longer collected is an error too. The counts go to the terminal and to
``--compat-summary`` (JSON).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from compat_expected import EXPECTED, NOT_RUN, NOT_STRICT


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sse_fast compat")
    group.addoption("--compat-peer", required=True, choices=sorted(EXPECTED))
    group.addoption("--compat-summary", default=None, help="write the counts here (JSON)")
    group.addoption(
        "--compat-partial", action="store_true", help="a subset runs: listed tests may be absent"
    )


def _expected(config: pytest.Config) -> dict[str, str]:
    return EXPECTED[config.getoption("--compat-peer")]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    expected = _expected(config)
    collected = {item.nodeid for item in items}
    stale = sorted(set(expected) - collected)
    if stale and not config.getoption("--compat-partial") and not config.getoption("keyword"):
        raise pytest.UsageError(
            "listed as expected failures but not collected: " + ", ".join(stale)
        )
    for item in items:
        reason = expected.get(item.nodeid)
        if reason is not None:
            strict = item.nodeid not in NOT_STRICT
            run = item.nodeid not in NOT_RUN
            item.add_marker(pytest.mark.xfail(strict=strict, reason=reason, run=run))


class _Tally:
    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if hasattr(report, "wasxfail"):
            outcome = "passed" if report.passed else "expected failure"
        elif report.failed:
            outcome = "failed" if report.when == "call" else "error"
        elif report.skipped:
            outcome = "skipped"
        else:
            outcome = "passed"
        # A test's worst phase counts: a pass in call and an error in teardown is an error.
        if report.when == "call" or outcome != "passed":
            previous = self.outcomes.get(report.nodeid)
            if previous in (None, "passed") or (report.when == "call" and previous == "skipped"):
                self.outcomes[report.nodeid] = outcome


_TALLY = pytest.StashKey[_Tally]()


def pytest_configure(config: pytest.Config) -> None:
    tally = _Tally()
    config.stash[_TALLY] = tally
    config.pluginmanager.register(tally, "compat_tally")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    config = terminalreporter.config
    outcomes = config.stash[_TALLY].outcomes
    counts = Counter(outcomes.values())
    peer = config.getoption("--compat-peer")
    total = len(outcomes)
    terminalreporter.write_sep("=", f"{peer}: {counts['passed']} of {total} pass")
    for outcome in ("expected failure", "failed", "error", "skipped"):
        if counts[outcome]:
            terminalreporter.write_line(f"  {outcome}: {counts[outcome]}")
    summary = config.getoption("--compat-summary")
    if summary:
        Path(summary).write_text(
            json.dumps(
                {"peer": peer, "total": total, "counts": dict(counts), "tests": outcomes},
                indent=1,
                sort_keys=True,
            )
        )
