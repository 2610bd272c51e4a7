"""Command line: ``python -m sse_fast listen URL`` prints a live event stream.

Each event is printed as soon as it arrives, in the canonical wire form (``id``
unless empty, ``event`` and ``data`` lines, then a blank line), with ``--json`` as one
JSON object a line, or with ``--raw`` the body's bytes exactly as received. The
stream is reconnected like a browser does (``Last-Event-ID``, the stream's ``retry``
time, backoff after failures) until the server answers 204 or ``--max-reconnects``
is used up; every failure and the wait before the next attempt go to stderr. Uses
httpx if it is installed, else requests, else aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, TextIO

from . import EventTooLarge, ServerSentEvent
from .client import DEFAULT_RETRY, Event, EventStreamError, Reconnecting, connect, connect_sync
from .client._libraries import Library

# Exit statuses, also listed in --help and the README.
ENDED = 0  # the server ended the stream (204), or stdout was closed (| head)
NO_STREAM = 1  # no connection, or it was lost and --max-reconnects is used up
USAGE = 2  # bad arguments (argparse's own status)
HTTP_ERROR = 3  # the server answered, but not 200 with text/event-stream
INTERRUPTED = 130  # Ctrl-C

EXIT_CODES = f"""exit status:
  {ENDED}    the stream ended (the server answered 204, or --max-reconnects was used up
       after a stream that ended normally), or stdout was closed (| head)
  {NO_STREAM}    no stream: could not connect, or the connection was lost, and
       --max-reconnects was used up; or an event exceeded the size limit
  {USAGE}    bad arguments
  {HTTP_ERROR}    the server answered with a status other than 200 (and 204) or a
       Content-Type other than text/event-stream (its body's start is shown)
  {INTERRUPTED}  interrupted (Ctrl-C)
"""


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def _non_negative_int(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return seconds


def _json_text(text: str) -> str:
    try:
        json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc}): {text!r}") from None
    return text


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m sse_fast", description="Server-Sent Events from the command line."
    )
    commands = root.add_subparsers(dest="command", required=True)
    listen = commands.add_parser(
        "listen",
        help="print the events of a live stream",
        description="Print the events of a live stream as they arrive, reconnecting like "
        "a browser (with backoff after failures). Errors and retries go to stderr.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    listen.add_argument("-X", "--method", help="request method (default GET, POST with a body)")
    body = listen.add_mutually_exclusive_group()
    body.add_argument("-d", "--data", help="request body; @FILE reads a file, @- stdin")
    body.add_argument(
        "--json-body",
        type=_json_text,
        metavar="JSON",
        help="request body, checked to be JSON and sent as application/json",
    )
    output = listen.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON object per event and line")
    output.add_argument("--raw", action="store_true", help="the body's bytes as received")
    listen.add_argument(
        "--last-event-id", default="", help="resume after this event ID (sent as Last-Event-ID)"
    )
    listen.add_argument(
        "--retry",
        type=_non_negative_int,
        default=DEFAULT_RETRY,
        metavar="MS",
        help="milliseconds before reconnecting, until the stream sets its own "
        f"(default {DEFAULT_RETRY}); doubled after each failure in a row, up to 30 s",
    )
    listen.add_argument(
        "--max-reconnects",
        type=_non_negative_int,
        metavar="N",
        help="give up after N reconnections (default: never; 0: one request only)",
    )
    listen.add_argument(
        "--idle-timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="reconnect when no byte (event or ping) arrives for this long",
    )
    listen.add_argument(
        "--connect-timeout",
        type=_positive_seconds,
        default=10.0,
        metavar="SECONDS",
        help="the longest wait for a connection (default 10)",
    )
    return root


def _body(args: argparse.Namespace, stdin: BinaryIO) -> bytes | None:
    if args.json_body is not None:
        return bytes(args.json_body.encode())
    if args.data is None:
        return None
    if args.data == "@-":
        return stdin.read()
    if args.data.startswith("@"):
        try:
            with open(args.data[1:], "rb") as file:
                return file.read()
        except OSError as exc:
            raise SystemExit(f"sse_fast: -d {args.data}: {exc.strerror}") from None
    return bytes(args.data.encode())


def _show(event: Event, as_json: bool) -> str:
    if as_json:
        fields = {"event": event.event, "id": event.id, "data": event.data}
        return json.dumps(fields, ensure_ascii=False) + "\n"
    # The wire form, without the "id: " line of events that have no ID.
    return ServerSentEvent(event.data, event=event.event, id=event.id or None).encode().decode()


class _Reporter:
    """Says on stderr why the client reconnects, counting the wait down on a terminal."""

    def __init__(self, err: TextIO, max_reconnects: int | None) -> None:
        self.err = err
        self.limit = "" if max_reconnects is None else f" of {max_reconnects}"

    def __call__(self, info: Reconnecting) -> None:
        prefix = f"sse_fast: {info.reason}; reconnecting (attempt {info.attempt}{self.limit})"
        if not self.err.isatty() or info.delay < 1:
            print(f"{prefix} in {info.delay:.1f} s", file=self.err, flush=True)
            return
        # The source waits only what is left of the delay once this returns.
        end = time.monotonic() + info.delay
        while (left := end - time.monotonic()) > 0:
            print(f"\r{prefix} in {left:.0f} s ", end="", file=self.err, flush=True)
            time.sleep(min(1.0, left))
        print(f"\r{prefix} now{' ' * 6}", file=self.err, flush=True)


def _client_library() -> str:
    for name in ("httpx", "requests", "aiohttp"):
        try:
            __import__(name)
        except ImportError:
            continue
        return name
    raise SystemExit(
        "python -m sse_fast listen needs httpx, requests or aiohttp: pip install 'sse-fast[httpx]'"
    )


def _options(
    args: argparse.Namespace, library: str, err: TextIO, stdin: BinaryIO
) -> dict[str, Any]:
    body = _body(args, stdin)
    headers = dict(args.headers)
    if args.json_body is not None and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    options: dict[str, Any] = {
        "method": args.method or ("GET" if body is None else "POST"),
        "headers": headers,
        "last_event_id": args.last_event_id,
        "retry": args.retry,
        "max_reconnects": args.max_reconnects,
        "idle_timeout": args.idle_timeout,
        "on_reconnect": _Reporter(err, args.max_reconnects),
    }
    if body is not None:
        options["content" if library == "httpx" else "data"] = body
    return options


def listen(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: BinaryIO) -> int:
    """Print the stream; return the exit status."""
    library = _client_library()
    options = _options(args, library, err, stdin)
    transport_errors = Library(library).transport_errors

    def write(event: Event) -> None:
        out.write(_show(event, args.json))
        out.flush()

    def write_raw(chunk: bytes) -> None:
        out.buffer.write(chunk)
        out.buffer.flush()

    if args.raw:
        options["on_bytes"] = write_raw
    try:
        if library == "aiohttp":
            asyncio.run(_listen_async(args, options, _ignore if args.raw else write))
        else:
            _listen_sync(args, library, options, _ignore if args.raw else write)
    except EventStreamError as exc:
        print(f"sse_fast: {args.url}: {exc}", file=err)
        return HTTP_ERROR
    except EventTooLarge as exc:
        print(f"sse_fast: {args.url}: {exc}", file=err)
        return NO_STREAM
    except transport_errors as exc:
        print(f"sse_fast: {args.url}: giving up: {exc or type(exc).__name__}", file=err)
        return NO_STREAM
    return ENDED


def _ignore(event: Event) -> None:
    del event


def _listen_sync(
    args: argparse.Namespace,
    library: str,
    options: dict[str, Any],
    write: Callable[[Event], object],
) -> None:
    if library == "httpx":
        import httpx

        client: Any = httpx.Client(timeout=httpx.Timeout(args.connect_timeout, read=None))
    else:
        import requests

        client = requests.Session()
        options["timeout"] = (args.connect_timeout, None)
    with client, connect_sync(client, args.url, **options) as source:
        for event in source:
            write(event)


async def _listen_async(
    args: argparse.Namespace, options: dict[str, Any], write: Callable[[Event], object]
) -> None:
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=None, sock_connect=args.connect_timeout)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        connect(session, args.url, **options) as source,
    ):
        async for event in source:
            write(event)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return listen(args, sys.stdout, sys.stderr, sys.stdin.buffer)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # The reader left (| head): not an error. Point stdout at /dev/null so that
        # the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ENDED


if __name__ == "__main__":
    sys.exit(main())
