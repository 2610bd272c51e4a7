"""examples/broadcast_app.py under uvicorn (one worker, memory backend), read by real clients."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from example_servers import EXAMPLES
from servers import RawClient, Server, free_port, running
from test_examples import read_events

sys.path.append(str(EXAMPLES))
from broadcast_app import ANSWER as ANSWER


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "broadcast_app:app", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]  # fmt: skip
    # cwd=examples/: the installed sse_fast is imported, never the work tree's.
    with running(command, port, cwd=EXAMPLES, env={"ANSWER_TOKEN_DELAY": "0.02"}) as started:
        yield started


def test_a_publish_reaches_every_browser_of_the_topic(server: Server) -> None:
    with RawClient(server.port, "/events/room") as a, RawClient(server.port, "/events/room") as b:
        a.read_head()
        b.read_head()
        event_id = httpx.post(f"{server.url}/publish/room", content="hello all").text
        for client in (a, b):
            body = client.read_until(b"data: hello all")
            assert f"id: {event_id}".encode() in body


def test_a_reconnecting_browser_gets_what_it_missed(server: Server) -> None:
    ids = [httpx.post(f"{server.url}/publish/news", content=f"n{n}").text for n in range(4)]
    events = read_events(f"{server.url}/events/news", 2, headers={"Last-Event-ID": ids[1]})
    assert [(e.id, e.data) for e in events] == [(ids[2], "n2"), (ids[3], "n3")]


def test_an_answer_runs_on_while_the_browser_is_away_and_resumes(server: Server) -> None:
    started = httpx.post(f"{server.url}/answers", content="How does SSE resume?").json()
    url = f"{server.url}/events/{started['topic']}?last_event_id={started['cursor']}"
    first = read_events(url, 4)  # the question and three tokens, then the page is closed
    assert [e.event for e in first] == ["question", "token", "token", "token"]
    time.sleep(len(ANSWER.split(" ")) * 0.02 + 0.5)  # the generation ends meanwhile
    # A reload: EventSource sends the id of the last event the page saw.
    remaining = len(ANSWER.split(" ")) - 3 + 1  # the other tokens, then "done"
    rest = read_events(url, remaining, headers={"Last-Event-ID": str(first[-1].id)})
    *tokens, done = rest
    assert done.event == "done"
    assert done.data == ANSWER
    assert "".join(str(e.data) for e in first[1:] + tokens) == ANSWER
    seqs = [int(str(e.id).split(".")[1]) for e in first + rest]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
