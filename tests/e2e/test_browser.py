"""The demo page in a real browser: Debian's Chromium, headless, driven by Playwright.

Chromium is the system's (``/usr/bin/chromium``, installed by ``make test``); Playwright
never downloads a browser here. A missing Chromium fails these tests: it is not a skip.
Each test gets a fresh demo server, so what the server saw (``/journal``) is its own.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from example_servers import REPO, run_example
from playwright.sync_api import BrowserContext, Page, sync_playwright
from servers import Server
from test_broadcast_example import ANSWER

CHROMIUM = Path(os.environ.get("SSE_FAST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = REPO / "docs" / "demo.png"
HEADLINE = "Grüße aus Köln · Ελλάδα · Москва · “quotes” … 😀"
WAIT_MS = 10_000


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),  # a fresh --user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1200, "height": 860},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def demo() -> Iterator[Server]:
    with run_example("demo/app.py") as server:
        yield server


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    page = browser.new_page()
    try:
        yield page
    finally:
        page.close()


def state(page: Page) -> dict[str, Any]:
    """What the page recorded (``window.demo``): events, opens, errors, reconnections."""
    return dict(page.evaluate("() => window.demo"))


def wait_for_numbered(page: Page, count: int) -> None:
    """Wait until ``count`` numbered (tick or news) events have arrived."""
    page.wait_for_function(
        "count => window.demo.events.filter(e => e.type !== 'message').length >= count",
        arg=count,
        timeout=WAIT_MS,
    )


def journal(demo: Server) -> dict[str, Any]:
    return dict(httpx.get(f"{demo.url}/journal").json())


def t_minus(k: int) -> str:
    """The countdown's ids: T, U+2212 MINUS SIGN, the number."""
    return f"T\N{MINUS SIGN}{k}"


def numbered_ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["lastEventId"] for e in events if e["type"] != "message"]


def test_typed_multiline_and_non_ascii_events_arrive_with_their_last_event_id(
    demo: Server, page: Page
) -> None:
    page.goto(f"{demo.url}/?interval=0.05&retry=300")
    wait_for_numbered(page, 9)
    events = state(page)["events"]
    welcome = events[0]
    assert (welcome["type"], welcome["lastEventId"]) == ("message", "")
    assert '"retry":300' in welcome["data"]
    numbered = [e for e in events if e["type"] != "message"]
    assert [e["lastEventId"] for e in numbered[:9]] == [f"№{n}" for n in range(1, 10)]
    for n, event in enumerate(numbered[:9], start=1):
        if n % 4:
            assert event["type"] == "tick"
            assert re.fullmatch(r"\d\d:\d\d:\d\d", event["data"])
        else:
            assert event["type"] == "news"
            assert event["data"] == f"Headline {n}\n{HEADLINE}\nthree lines, one event"
    # ... and the page shows them.
    assert page.text_content("#news") == f"Headline 8\n{HEADLINE}\nthree lines, one event"
    assert re.fullmatch(r"\d\d:\d\d:\d\d", page.text_content("#clock") or "")
    assert page.text_content("#retry") == "300 ms"


@pytest.mark.parametrize("retry_ms", [300, 1200])
def test_browser_reconnects_after_the_servers_retry_with_last_event_id(
    demo: Server, page: Page, retry_ms: int
) -> None:
    page.goto(f"{demo.url}/?interval=0.1&retry={retry_ms}")
    wait_for_numbered(page, 5)
    page.click("#drop")
    page.wait_for_function("() => window.demo.opens.length >= 2", timeout=WAIT_MS)
    before = len(numbered_ids(state(page)["events"]))
    wait_for_numbered(page, before + 3)
    seen = state(page)
    ids = numbered_ids(seen["events"])

    # No event lost or repeated: the ids run on, one by one, across the reconnection.
    assert ids == [f"№{n}" for n in range(1, len(ids) + 1)]
    assert (seen["lost"], seen["repeated"]) == (0, 0)
    (reconnection,) = seen["reconnections"]
    sent = reconnection["sent"]
    assert sent in ids
    # The browser waited the server's retry (its own default is 3 s), then reconnected.
    assert retry_ms / 1000 * 0.9 <= reconnection["gap"] < retry_ms / 1000 + 1.0

    # The server received Last-Event-ID, decoded it (non-ASCII), and resumed after it.
    first, second = (c for c in journal(demo)["connections"] if c["client"] == seen["client"])
    assert (first["last_event_id"], second["last_event_id"]) == ("", sent)
    assert second["first_id"] == f"№{int(sent[1:]) + 1}"
    assert reconnection["serverReceived"] == sent
    assert retry_ms / 1000 * 0.9 <= second["opened"] - first["closed"] < retry_ms / 1000 + 1.0


def test_204_stops_reconnection(demo: Server, page: Page) -> None:
    page.goto(f"{demo.url}/?interval=0.05&retry=300&from=3")
    page.click("#countdown-start")
    page.wait_for_function("() => window.demo.countdown.state === 'CLOSED'", timeout=WAIT_MS)
    time.sleep(1.5)  # five reconnection times: a browser that still retried would have
    countdown = state(page)["countdown"]
    assert countdown["state"] == "CLOSED"
    assert [(e["type"], e["lastEventId"]) for e in countdown["events"]] == [
        ("count", t_minus(3)),
        ("count", t_minus(2)),
        ("count", t_minus(1)),
        ("liftoff", t_minus(0)),
    ]
    # One stream that ended (error while CONNECTING), then the 204 (error, CLOSED).
    assert [e["readyState"] for e in countdown["errors"]] == [0, 2]
    requests = journal(demo)["countdown"]
    assert [(r["last_event_id"], r["status"]) for r in requests] == [("", 200), (t_minus(0), 204)]


def test_screenshot_of_the_demo_page(demo: Server, page: Page) -> None:
    """Keeps docs/demo.png (shown in the README) up to date: the clock at its real pace,
    a reconnection and a countdown stopped by 204, both started at once to save time."""
    page.goto(f"{demo.url}/?interval=1&retry=500&from=2")
    wait_for_numbered(page, 4)
    page.click("#countdown-start")
    page.click("#drop")
    page.wait_for_function(
        "() => window.demo.reconnections.length && window.demo.countdown.state === 'CLOSED'",
        timeout=WAIT_MS,
    )
    page.click("#publish")
    page.wait_for_function("() => window.demo.broadcast.b.length", timeout=WAIT_MS)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOT, full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    assert (state(page)["lost"], state(page)["repeated"]) == (0, 0)


def test_one_publish_reaches_both_broadcast_windows(demo: Server, page: Page) -> None:
    page.goto(demo.url)
    page.wait_for_function("() => window.demo.broadcast.opens >= 2", timeout=WAIT_MS)
    page.fill("#message", "Grüße an alle ✓")
    page.click("#publish")
    page.wait_for_function(
        "() => window.demo.broadcast.a.length && window.demo.broadcast.b.length", timeout=WAIT_MS
    )
    seen = state(page)["broadcast"]
    assert seen["a"] == seen["b"]
    [message] = seen["a"]
    assert message["data"] == "Grüße an alle ✓"
    assert re.fullmatch(r"[0-9a-f]{8}\.1", message["lastEventId"])
    assert "Grüße an alle ✓" in (page.text_content("#window-b") or "")


def test_a_reload_resumes_the_answer_after_the_last_token_seen(
    page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANSWER_TOKEN_DELAY", "0.05")
    with run_example("demo/app.py") as demo:
        page.goto(demo.url)
        page.click("#ask")
        page.wait_for_function("() => window.demo.answer.tokens.length >= 5", timeout=WAIT_MS)
        page.reload()
        page.wait_for_function("() => window.demo.answer.done", timeout=WAIT_MS)
        answer = state(page)["answer"]
    resumed_after = answer["resumedAfter"]
    assert resumed_after is not None
    first_new = answer["tokens"][0]["lastEventId"]
    assert int(first_new.split(".")[1]) == int(resumed_after.split(".")[1]) + 1
    assert answer["text"] == ANSWER
    assert page.text_content("#answer") == ANSWER
    assert page.text_content("#answer-status") == "done"
