"""adapters/_transport.py on real TCP connections: the client watch and the reset."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from sse_fast.adapters._transport import ClientWatch, reset
from sse_fast.stream import StreamOptions

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(10)]
USER_TIMEOUT = getattr(socket, "TCP_USER_TIMEOUT", None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Server(asyncio.Protocol):
    """The server's own protocol: records what reaches it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.received = b""
        self.lost = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += data

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()


class Stream(ClientWatch):
    """A stream's side of the watch: records what it is told."""

    __slots__ = (*ClientWatch.SLOTS, "left", "options", "stopping", "timed_out")

    def __init__(self, send_timeout: float | None = 5) -> None:
        self.options = StreamOptions(send_timeout=send_timeout)
        self.stopping = False
        self.timed_out = False
        self.left = 0

    def client_left(self) -> None:
        self.left += 1
        self.stop()

    def stop(self) -> None:
        self.stopping = True


@pytest.fixture
async def connection() -> AsyncIterator[tuple[Server, socket.socket]]:
    protocol = Server()
    server = await asyncio.get_running_loop().create_server(lambda: protocol, "127.0.0.1", 0)
    client = socket.create_connection(server.sockets[0].getsockname()[:2])
    client.setblocking(False)
    while protocol.transport is None:
        await asyncio.sleep(0.001)
    try:
        yield protocol, client
    finally:
        client.close()
        server.close()
        await server.wait_closed()


def watching(
    connection: tuple[Server, socket.socket], send_timeout: float | None = 5
) -> tuple[Server, socket.socket, Stream]:
    """The connection's transport, watched by a new stream."""
    protocol, client = connection
    assert protocol.transport is not None
    stream = Stream(send_timeout)
    stream.watch(protocol.transport)
    return protocol, client, stream


def user_timeout(transport: asyncio.BaseTransport) -> int:
    assert USER_TIMEOUT is not None
    return int(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, USER_TIMEOUT))


@pytest.mark.skipif(USER_TIMEOUT is None, reason="no TCP_USER_TIMEOUT on this platform")
async def test_the_watch_sets_the_send_timeout_and_release_restores_the_sockets_own(
    connection: tuple[Server, socket.socket],
) -> None:
    protocol, _ = connection
    transport = protocol.transport
    assert transport is not None
    assert USER_TIMEOUT is not None
    transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, USER_TIMEOUT, 7000)
    watch = Stream(1.5)
    watch.watch(transport)
    assert transport.get_protocol() is watch
    assert user_timeout(transport) == 1500
    watch.release()
    assert transport.get_protocol() is protocol
    assert user_timeout(transport) == 7000


async def test_no_send_timeout_leaves_the_socket_alone(
    connection: tuple[Server, socket.socket],
) -> None:
    protocol, _ = connection
    assert protocol.transport is not None
    before = user_timeout(protocol.transport) if USER_TIMEOUT is not None else None
    watch = Stream(None)
    watch.watch(protocol.transport)
    assert protocol.transport.get_protocol() is watch
    assert watch.saved_user_timeout is None
    if USER_TIMEOUT is not None:
        assert user_timeout(protocol.transport) == before


async def test_the_server_still_hears_the_client_and_the_stream_hears_it_leave(
    connection: tuple[Server, socket.socket],
) -> None:
    protocol, client, stream = watching(connection)
    client.send(b"hello")
    while protocol.received != b"hello":
        await asyncio.sleep(0.001)
    assert stream.left == 0
    client.close()
    await asyncio.wait_for(protocol.lost.wait(), 5)  # the server's protocol is told too
    assert stream.left == 1
    assert not stream.timed_out


async def test_a_kernel_timeout_is_a_send_timeout(
    connection: tuple[Server, socket.socket],
) -> None:
    _, _, stream = watching(connection)
    stream.connection_lost(TimeoutError(110, "Connection timed out"))  # what ETIMEDOUT gives
    assert stream.timed_out
    assert stream.stopping
    assert stream.left == 0


async def test_a_connection_already_closing_is_a_departure(
    connection: tuple[Server, socket.socket],
) -> None:
    protocol, _ = connection
    assert protocol.transport is not None
    protocol.transport.close()
    stream = Stream()
    stream.watch(protocol.transport)
    assert stream.left == 1
    assert protocol.transport.get_protocol() is protocol
    stream.release()  # nothing to give back


async def test_a_send_timeout_is_logged_once_and_the_connection_reset_on_the_next_turn(
    connection: tuple[Server, socket.socket], caplog: pytest.LogCaptureFixture
) -> None:
    protocol, client, stream = watching(connection, 0.5)
    assert protocol.transport is not None
    stream.send_timed_out()
    assert not protocol.transport.is_closing()  # the stalled send raises first
    await asyncio.wait_for(protocol.lost.wait(), 5)
    assert [r.getMessage() for r in caplog.records] == [
        "sse_fast: client 127.0.0.1 read nothing for send_timeout=0.5 s: connection aborted"
    ]
    client.setblocking(True)
    client.settimeout(5)
    with pytest.raises(ConnectionResetError):
        client.recv(1024)


async def test_reset_aborts_with_a_reset_the_client_sees(
    connection: tuple[Server, socket.socket],
) -> None:
    protocol, client = connection
    assert protocol.transport is not None
    reset(protocol.transport)
    await asyncio.wait_for(protocol.lost.wait(), 5)
    client.setblocking(True)
    client.settimeout(5)
    with pytest.raises(ConnectionResetError):  # not an orderly end (b"")
        client.recv(1024)
