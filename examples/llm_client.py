"""Print an LLM-style answer as its tokens arrive (start examples/llm_server.py first).

    python examples/llm_client.py "Why is the sky blue?" [--url http://127.0.0.1:8000]

``sse_fast.client.connect`` POSTs the prompt through httpx and decodes the events as
they come. A completion is not resumable, so ``max_reconnects=0``: when the stream
ends (or breaks) there is no second request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import httpx

from sse_fast.client import connect


async def complete(url: str, prompt: str) -> int:
    timeout = httpx.Timeout(10, read=60)
    async with (
        httpx.AsyncClient(timeout=timeout) as http,
        connect(http, url, method="POST", json={"prompt": prompt}, max_reconnects=0) as source,
    ):
        async for event in source:
            payload = event.json()
            if event.event == "token":
                print(payload["token"], end="", flush=True)
            elif event.event == "done":
                done = payload
                print(f"\n[{done['tokens']} tokens, finish_reason={done['finish_reason']}]")
                return 0
    print("\n[the stream ended before its done event]", file=sys.stderr)
    return 1


def main() -> int:
    port = os.environ.get("PORT", "8000")
    parser = argparse.ArgumentParser(description="Print an LLM-style answer as it streams.")
    parser.add_argument("prompt")
    parser.add_argument("--url", default=f"http://127.0.0.1:{port}")
    args = parser.parse_args()
    return asyncio.run(complete(args.url.rstrip("/") + "/v1/completions", args.prompt))


if __name__ == "__main__":
    sys.exit(main())
