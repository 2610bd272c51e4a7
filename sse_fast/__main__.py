"""Command line: ``python -m sse_fast listen URL`` prints a live event stream.

Each event is printed as soon as it arrives, in the canonical wire form (``id``
unless empty, ``event`` and ``data`` lines, then a blank line), or with ``--json`` as one JSON
object a line: ``{"event": ..., "id": ..., "data": ...}``. The stream is
reconnected like a browser does (``Last-Event-ID``, the stream's ``retry`` time)
until the server answers 204. Uses httpx if it is installed, else aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TextIO

from . import ServerSentEvent
from .client import DEFAULT_RETRY, EventStreamError, connect


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m sse_fast", description="Server-Sent Events from the command line."
    )
    commands = root.add_subparsers(dest="command", required=True)
    listen = commands.add_parser("listen", help="print the events of a live stream")
    listen.add_argument("url")
    listen.add_argument(
        "-H",
        "--header",
        dest="headers",
        action="append",
        type=_header,
        default=[],
        metavar="'NAME: VALUE'",
        help="send this request header (repeatable)",
    )
    listen.add_argument("--json", action="store_true", help="one JSON object per event and line")
    listen.add_argument(
        "--last-event-id", default="", help="resume after this event ID (sent as Last-Event-ID)"
    )
    listen.add_argument(
        "--retry",
        type=int,
        default=DEFAULT_RETRY,
        help="milliseconds before reconnecting, until the stream sets its own "
        f"(default {DEFAULT_RETRY})",
    )
    return root


@asynccontextmanager
async def _http_client() -> AsyncIterator[Any]:
    try:
        import httpx
    except ImportError:
        try:
            import aiohttp
        except ImportError:
            raise SystemExit(
                "python -m sse_fast listen needs httpx or aiohttp: pip install 'sse-fast[httpx]'"
            ) from None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(sock_connect=30)) as session:
            yield session
        return
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=None)) as client:
        yield client


def _show(event: ServerSentEvent, as_json: bool) -> str:
    if as_json:
        fields = {"event": event.event, "id": event.id, "data": event.data}
        return json.dumps(fields, ensure_ascii=False) + "\n"
    # The wire form, without the "id: " line of events that have no ID.
    return type(event)(event.data, event=event.event, id=event.id or None).encode().decode()


async def listen(args: argparse.Namespace, out: TextIO) -> int:
    async with _http_client() as client:
        source = connect(
            client,
            args.url,
            headers=dict(args.headers),
            last_event_id=args.last_event_id,
            retry=args.retry,
        )
        async with source:
            try:
                async for event in source:
                    out.write(_show(event, args.json))
                    out.flush()
            except EventStreamError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return asyncio.run(listen(args, sys.stdout))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
