"""Decode one response already opened, without reconnecting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from .._decoder import Decoder
from ._event import Event
from ._libraries import aread_prefix, read_prefix, response_head, response_library
from ._options import check_head, received, stream_error

if TYPE_CHECKING:
    import aiohttp
    import httpx
    import httpx2
    import requests

__all__ = ["aiter_events", "iter_events"]


def _library(response: object, allowed: tuple[str, ...]) -> str:
    name = response_library(response)
    if name not in allowed:
        kinds = " or ".join(f"a {kind} response" for kind in allowed)
        raise TypeError(f"response must be {kinds}, not {type(response).__name__}")
    return name


async def aiter_events(
    response: httpx.Response | httpx2.Response | aiohttp.ClientResponse,
    decoder: Decoder | None = None,
) -> AsyncIterator[Event]:
    """The events of one open response (httpx, httpx2 or aiohttp), as they arrive.

    Raises ``EventStreamError`` (with the first KiB of the body) unless the status is
    200 and the Content-Type is ``text/event-stream``. Give a ``Decoder`` to keep its
    ``last_event_id`` and ``retry`` afterwards, or to set ``max_event_size``. An
    event cut off by the end of the body is dropped (§9.2.6).
    """
    name = _library(response, ("httpx", "httpx2", "aiohttp"))
    head = response_head(name, response)
    chunks: AsyncIterator[bytes] = (
        response.content.iter_any() if name == "aiohttp" else response.aiter_bytes()  # type: ignore[union-attr]
    )
    if not check_head(head):
        raise stream_error(head, await aread_prefix(chunks))
    decoder = Decoder() if decoder is None else decoder
    try:
        async for chunk in chunks:
            for event in received(decoder.feed(chunk)):
                yield event
    finally:
        decoder.close()


def iter_events(
    response: httpx.Response | httpx2.Response | requests.Response,
    decoder: Decoder | None = None,
) -> Iterator[Event]:
    """The events of one open response (httpx, httpx2, or requests with
    ``stream=True``), as they arrive; otherwise as ``aiter_events``."""
    name = _library(response, ("httpx", "httpx2", "requests"))
    head = response_head(name, response)
    chunks: Iterator[bytes]
    if name == "requests":
        read = response.raw.read1  # type: ignore[union-attr]
        chunks = iter(lambda: read(65536), b"")
    else:
        chunks = response.iter_bytes()  # type: ignore[union-attr]
    if not check_head(head):
        raise stream_error(head, read_prefix(chunks))
    decoder = Decoder() if decoder is None else decoder
    try:
        for chunk in chunks:
            yield from received(decoder.feed(chunk))
    finally:
        decoder.close()
