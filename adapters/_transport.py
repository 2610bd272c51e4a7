"""What the adapters do to a client's asyncio transport while a stream uses it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Protocol

__all__ = ["ClientWatch", "reset"]

_LINGER_NONE = struct.pack("ii", 1, 0)
_TCP_USER_TIMEOUT: int | None = getattr(socket, "TCP_USER_TIMEOUT", None)


def reset(transport: asyncio.WriteTransport) -> None:
    """Abort a connection whose client stopped reading, with a reset: the kernel drops
    the data the client never took instead of holding it until the send gives up."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed, or not TCP
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_NONE)
    transport.abort()


class _Stream(Protocol):
    stopping: bool
    timed_out: bool

    def client_left(self) -> None: ...
    def stop(self) -> None: ...


class ClientWatch(asyncio.Protocol):
    """Stands in for the server's protocol on a transport while a stream lasts.

    It hears ``connection_lost`` at once, with no task or timer, and tells the stream
    (a server may report a departure only by cancelling the handler, or not at all).
    While it watches, the kernel drops a client that leaves sent data unacknowledged
    for ``send_timeout`` (``TCP_USER_TIMEOUT``, as aiohttp-sse sets it): a vanished peer
    is noticed even when no write blocks. Everything else goes to the server's protocol.
    """

    __slots__ = ("inner", "saved_user_timeout", "stream", "transport")

    def __init__(
        self, transport: asyncio.BaseTransport, inner: asyncio.Protocol, stream: _Stream
    ) -> None:
        self.transport = transport
        self.inner = inner
        self.stream = stream
        self.saved_user_timeout: int | None = None  # the socket's own, to restore

    @classmethod
    def attach(
        cls, transport: asyncio.BaseTransport | None, stream: _Stream, send_timeout: float | None
    ) -> ClientWatch | None:
        """Watch ``transport`` for ``stream``; None (and the stream told) if it is gone."""
        if transport is None or transport.is_closing():
            stream.client_left()
            return None
        inner = transport.get_protocol()
        assert isinstance(inner, asyncio.Protocol)
        watch = cls(transport, inner, stream)
        sock = transport.get_extra_info("socket")
        tcp = sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6)
        if send_timeout is not None and _TCP_USER_TIMEOUT is not None and tcp:
            watch.saved_user_timeout = sock.getsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT, int(send_timeout * 1000))
        transport.set_protocol(watch)
        return watch

    def release(self) -> None:
        """The stream has ended and the connection may serve another request
        (keep-alive): give it back to the server's protocol, with its own timeout."""
        transport = self.transport
        if transport.get_protocol() is self:
            transport.set_protocol(self.inner)
        saved, self.saved_user_timeout = self.saved_user_timeout, None
        sock = transport.get_extra_info("socket")
        if saved is not None and _TCP_USER_TIMEOUT is not None and sock is not None:
            with contextlib.suppress(OSError):  # closed meanwhile
                sock.setsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT, saved)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)
        stream = self.stream
        if isinstance(exc, TimeoutError) and not stream.stopping:
            # ETIMEDOUT: TCP_USER_TIMEOUT (the send timeout) dropped a client that stopped
            # reading, as the stream's own timer was about to.
            stream.timed_out = True
            stream.stop()
        else:
            stream.client_left()
