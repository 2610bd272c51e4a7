"""``python -m sse_fast listen`` against the examples, as the README shows it."""

from __future__ import annotations

import json
import subprocess
import sys

from example_servers import run_example


def test_cli_posts_a_prompt_to_the_llm_example() -> None:
    with run_example("llm_server.py") as server:
        body = json.dumps({"prompt": "Why?", "delay": 0})
        result = subprocess.run(
            [sys.executable, "-m", "sse_fast", "listen", f"{server.url}/v1/completions",
             "--json-body", body, "--json", "--max-reconnects", "0"],
            capture_output=True, text=True, timeout=20, cwd="/",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert {event["event"] for event in events} == {"token", "done"}
    tokens = [json.loads(e["data"])["token"] for e in events if e["event"] == "token"]
    assert "Why?" in "".join(tokens)
    assert events[-1]["event"] == "done"
    assert json.loads(events[-1]["data"])["tokens"] == len(tokens)
