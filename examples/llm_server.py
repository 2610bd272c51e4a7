"""An LLM-style token stream: POST a prompt, get the answer as JSON events, token by token.

    python examples/llm_server.py             # PORT=9000 to change the port
    python examples/llm_client.py "Why is the sky blue?"

The "model" is a stand-in that streams a canned answer; the shape is the usual one:
a ``token`` event per token (``{"index": 0, "token": "Hel"}``), then one ``done``
event with the totals. JSON events are compact and UTF-8 (``ensure_ascii=False``).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator

import anyio
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

from sse_fast.adapters.starlette import EventSourceResponse, JSONServerSentEvent, lifespan

# Ctrl-C or SIGTERM ends the open streams at once (uvicorn would wait for them).
app = FastAPI(lifespan=lifespan(signals=True))


class Completion(BaseModel):
    prompt: str
    max_tokens: int = Field(default=256, ge=1)
    delay: float = Field(default=0.03, ge=0, le=1, description="seconds between tokens")


def fake_model(prompt: str) -> list[str]:
    """Word pieces of a canned answer, as a tokenizer would cut them."""
    answer = f"You asked: “{prompt.strip()}”. Here is the answer, one token at a time."
    return re.findall(r"\s?\S{1,4}", answer)


@app.post("/v1/completions")
async def completions(body: Completion) -> EventSourceResponse:
    tokens = fake_model(body.prompt)[: body.max_tokens]

    async def stream() -> AsyncIterator[JSONServerSentEvent]:
        for index, token in enumerate(tokens):
            yield JSONServerSentEvent({"index": index, "token": token}, event="token")
            await anyio.sleep(body.delay)
        reason = "length" if len(tokens) == body.max_tokens else "stop"
        yield JSONServerSentEvent({"tokens": len(tokens), "finish_reason": reason}, event="done")

    # ping=5: a slow model's silence does not look like a dead connection to proxies.
    return EventSourceResponse(stream(), ping=5)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
