"""What differs between the HTTP libraries the client reads through.

Async: ``httpx.AsyncClient``, ``httpx2.AsyncClient``, ``aiohttp.ClientSession``.
Sync: ``httpx.Client``, ``httpx2.Client``, ``requests.Session``. A client is
recognised by ``isinstance`` against the classes of libraries already imported (it
exists, so its library is), so nothing here imports a library that was not given.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from ._event import ERROR_BODY_LIMIT

__all__ = ["ASYNC_CLIENTS", "SYNC_CLIENTS", "Library", "Opened", "library_of"]

ASYNC_CLIENTS = {"httpx": "AsyncClient", "httpx2": "AsyncClient", "aiohttp": "ClientSession"}
SYNC_CLIENTS = {"httpx": "Client", "httpx2": "Client", "requests": "Session"}
_READ_SIZE = 65536


def library_of(client: object, kinds: Mapping[str, str]) -> str | None:
    """The name of the library whose client class (in ``kinds``) ``client`` is."""
    for name, class_name in kinds.items():
        module = sys.modules.get(name)
        if module is not None and isinstance(client, getattr(module, class_name)):
            return name
    return None


def describe(kinds: Mapping[str, str]) -> str:
    return ", ".join(f"{name}.{class_name}" for name, class_name in kinds.items())


@dataclass
class Opened:
    """A response whose head has arrived."""

    response: Any
    status: int
    headers: Mapping[str, str]

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", ""))


class Library:
    """One HTTP library: its request call, its errors, its idle (read) timeout."""

    def __init__(self, name: str) -> None:
        self.name = name
        module: Any = sys.modules[name]
        self.module = module
        if name == "aiohttp":
            self.transport_errors: tuple[type[BaseException], ...] = (
                module.ClientError,
                asyncio.TimeoutError,
            )
            self.idle_errors: tuple[type[BaseException], ...] = (module.ServerTimeoutError,)
            self.fatal_errors: tuple[type[BaseException], ...] = (module.InvalidURL,)
        elif name == "requests":
            import urllib3.exceptions

            exceptions = module.exceptions
            self.transport_errors = (
                exceptions.ConnectionError,
                exceptions.Timeout,
                exceptions.ChunkedEncodingError,
                urllib3.exceptions.ProtocolError,
                urllib3.exceptions.ReadTimeoutError,
            )
            self.idle_errors = (exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError)
            self.fatal_errors = (exceptions.InvalidURL, exceptions.InvalidSchema)
        else:  # httpx and httpx2 share an API
            self.transport_errors = (module.TransportError,)
            self.idle_errors = (module.ReadTimeout,)
            self.fatal_errors = (module.UnsupportedProtocol,)

    def header_value(self, value: str) -> str | bytes:
        """A header value as the library sends it in UTF-8 (§9.2.4 for Last-Event-ID)."""
        return value if self.name == "aiohttp" else value.encode()

    def request_options(
        self, client: Any, request: dict[str, Any], idle_timeout: float | None
    ) -> dict[str, Any]:
        """``request`` with the read timeout set to ``idle_timeout``: the libraries
        fail a read that waits longer, which is exactly "no byte for that long"."""
        if idle_timeout is None:
            return request
        given = request.get("timeout")
        if self.name == "aiohttp":
            base = client.timeout if given is None else given
            timeout: Any = self.module.ClientTimeout(
                total=base.total,
                connect=base.connect,
                sock_read=idle_timeout,
                sock_connect=base.sock_connect,
            )
        elif self.name == "requests":
            connect = given[0] if isinstance(given, tuple) else given
            timeout = (connect, idle_timeout)
        else:
            base = self.module.Timeout(client.timeout if given is None else given)
            timeout = self.module.Timeout(
                connect=base.connect, read=idle_timeout, write=base.write, pool=base.pool
            )
        return {**request, "timeout": timeout}

    @asynccontextmanager
    async def open_async(
        self, client: Any, method: str, url: str, headers: dict[str, Any], request: dict[str, Any]
    ) -> AsyncIterator[tuple[Opened, AsyncIterator[bytes]]]:
        if self.name == "aiohttp":
            async with client.request(method, url, headers=headers, **request) as response:
                opened = Opened(response, response.status, response.headers)
                yield opened, response.content.iter_any()
        else:
            async with client.stream(method, url, headers=headers, **request) as response:
                yield (
                    Opened(response, response.status_code, response.headers),
                    (response.aiter_bytes()),
                )

    @contextmanager
    def open_sync(
        self, client: Any, method: str, url: str, headers: dict[str, Any], request: dict[str, Any]
    ) -> Iterator[tuple[Opened, Iterator[bytes]]]:
        if self.name == "requests":
            with client.request(method, url, headers=headers, stream=True, **request) as response:
                # read1 returns what has arrived (chunked or not); iter_content would wait
                # for a whole chunk_size, or for the end of a body that is not chunked.
                read = response.raw.read1
                chunks = iter(lambda: read(_READ_SIZE), b"")
                yield Opened(response, response.status_code, response.headers), chunks
        else:
            with client.stream(method, url, headers=headers, **request) as response:
                yield (
                    Opened(response, response.status_code, response.headers),
                    (response.iter_bytes()),
                )


def response_library(response: object) -> str | None:
    """The library a response object comes from (for ``aiter_events``/``iter_events``)."""
    kinds = {
        "httpx": "Response",
        "httpx2": "Response",
        "aiohttp": "ClientResponse",
        "requests": "Response",
    }
    return library_of(response, kinds)


def response_head(name: str, response: Any) -> Opened:
    status = response.status if name == "aiohttp" else response.status_code
    return Opened(response, status, response.headers)


async def aread_prefix(chunks: AsyncIterator[bytes]) -> bytes:
    """The first KiB of what is left of a body, for an error report."""
    body = b""
    async for chunk in chunks:
        body += chunk
        if len(body) >= ERROR_BODY_LIMIT:
            break
    return body[:ERROR_BODY_LIMIT]


def read_prefix(chunks: Iterator[bytes]) -> bytes:
    body = b""
    for chunk in chunks:
        body += chunk
        if len(body) >= ERROR_BODY_LIMIT:
            break
    return body[:ERROR_BODY_LIMIT]
