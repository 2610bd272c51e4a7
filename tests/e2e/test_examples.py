"""Every example in ``examples/`` runs as its docstring says and streams what it promises."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import httpx
from example_servers import EXAMPLES, REPO, run_example

import sse_fast


def read_events(
    url: str, count: int | None = None, *, method: str = "GET", **request: Any
) -> list[sse_fast.ServerSentEvent]:
    """The first ``count`` events of one response (all of them when ``count`` is None)."""
    decoder = sse_fast.Decoder()
    events: list[sse_fast.ServerSentEvent] = []
    with httpx.stream(method, url, timeout=10, **request) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for chunk in response.iter_bytes():
            events += decoder.feed(chunk)
            if count is not None and len(events) >= count:
                return events[:count]
    return events


def payload(event: sse_fast.ServerSentEvent) -> Any:
    assert isinstance(event.data, str)
    return json.loads(event.data)


def test_fastapi_example_streams_prices_and_resumes_after_last_event_id() -> None:
    with run_example("fastapi_app.py") as server:
        url = f"{server.url}/prices?interval=0.02"
        first = read_events(url, 3)
        resumed = read_events(url, 2, headers={"Last-Event-ID": "3"})
    assert [(e.event, e.id) for e in first] == [("price", "1"), ("price", "2"), ("price", "3")]
    assert [e.id for e in resumed] == ["4", "5"]
    prices = [payload(e) for e in first + resumed]
    assert all(p["symbol"] == "SSE" and isinstance(p["price"], float) for p in prices)


def test_asgi_example_counts_down_then_answers_204() -> None:
    with run_example("asgi_app.py") as server:
        url = f"{server.url}/?count=3&interval=0.01"
        events = read_events(url)
        resumed = read_events(url, headers={"Last-Event-ID": "1"})
        finished = httpx.get(url, headers={"Last-Event-ID": "3"})
    assert [(e.event, e.id, e.data) for e in events] == [
        ("step", "1", "2 to go"),
        ("step", "2", "1 to go"),
        ("step", "3", "0 to go"),
    ]
    assert [e.id for e in resumed] == ["2", "3"]
    assert finished.status_code == 204


PROMPT = "Warum ist der Himmel blau? ☀ ½"
ANSWER = f"You asked: “{PROMPT}”. Here is the answer, one token at a time."


def test_llm_example_streams_json_tokens_for_a_posted_prompt() -> None:
    with run_example("llm_server.py") as server:
        url = f"{server.url}/v1/completions"
        events = read_events(url, method="POST", json={"prompt": PROMPT, "delay": 0})
        cut = read_events(url, method="POST", json={"prompt": PROMPT, "max_tokens": 3})
    *tokens, done = events
    assert {e.event for e in tokens} == {"token"}
    pieces = [payload(e) for e in tokens]
    assert [p["index"] for p in pieces] == list(range(len(pieces)))
    assert "".join(p["token"] for p in pieces) == ANSWER
    assert (done.event, payload(done)) == (
        "done",
        {"tokens": len(tokens), "finish_reason": "stop"},
    )
    assert len(cut) == 4
    assert payload(cut[-1]) == {"tokens": 3, "finish_reason": "length"}


def test_llm_client_example_prints_the_answer_as_it_streams() -> None:
    with run_example("llm_server.py") as server:
        result = subprocess.run(
            [sys.executable, str(EXAMPLES / "llm_client.py"), PROMPT, "--url", server.url],
            cwd=REPO,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            capture_output=True,
            timeout=30,
            check=False,
        )
    output = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    answer, summary = output.rstrip("\n").split("\n")
    assert answer == ANSWER
    assert re.fullmatch(r"\[\d+ tokens, finish_reason=stop\]", summary)


def test_demo_resumes_after_a_utf8_last_event_id() -> None:
    with run_example("demo/app.py") as server:
        url = f"{server.url}/events?interval=0.01&retry=300"
        events = read_events(url, 5, headers={b"Last-Event-ID": "№6".encode()})
        page = httpx.get(server.url)
    welcome, *numbered = events
    assert (welcome.event, welcome.id) == ("message", "")
    assert payload(welcome) == {
        "connection": 1,
        "last_event_id": "№6",
        "next_id": "№7",
        "retry": 300,
    }
    assert [(e.event, e.id) for e in numbered] == [
        ("tick", "№7"),
        ("news", "№8"),
        ("tick", "№9"),
        ("tick", "№10"),
    ]
    assert page.status_code == 200
    assert 'new EventSource("/events?"' in page.text


def test_aiohttp_example_clock_resumes_and_tokens_stream_for_a_post() -> None:
    with run_example("aiohttp_app.py") as server:
        first = read_events(f"{server.url}/clock", 2)
        resumed = read_events(f"{server.url}/clock", 1, headers={"Last-Event-ID": "41"})
        answer = read_events(f"{server.url}/tokens", method="POST", json={"prompt": "hi there"})
    assert [(e.event, e.id) for e in first] == [("tick", "1"), ("tick", "2")]
    assert re.fullmatch(r"\d\d:\d\d:\d\d", str(first[0].data))
    assert [(e.event, e.id) for e in resumed] == [("tick", "42")]
    assert [payload(e)["token"] for e in answer[:-1]] == ["You ", "said: ", "hi ", "there "]
    assert (answer[-1].event, answer[-1].data) == ("message", "[DONE]")
