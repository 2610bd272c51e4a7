"""What the adapters do to a client's asyncio transport while a stream uses it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sse_fast.stream import StreamOptions

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


class ClientWatch(asyncio.Protocol):
    """The transport side of an engine stream: a base class of the adapter's stream, so
    an idle stream holds no object more for it. The concrete class adds :data:`SLOTS`.

    While the stream lasts (:meth:`watch` to :meth:`release`) it stands in for the
    server's protocol on the transport: it hears ``connection_lost`` at once, with no
    task or timer (a server may report a departure only by cancelling the handler), and
    passes everything on. The kernel drops a client that leaves sent data unacknowledged
    for ``send_timeout`` (``TCP_USER_TIMEOUT``, as aiohttp-sse sets it): a vanished peer
    is noticed even when no write blocks. A send timeout is logged in one line and the
    connection reset (:meth:`send_timed_out`, the engine's hook).
    """

    if not TYPE_CHECKING:  # the concrete class declares the slots
        __slots__ = ()
    SLOTS = ("inner", "saved_user_timeout", "transport")
    inner: asyncio.Protocol  # the server's protocol, once watched
    saved_user_timeout: int | None  # the socket's own, to restore
    transport: asyncio.BaseTransport | None
    # The stream's:
    options: StreamOptions
    stopping: bool
    timed_out: bool

    if TYPE_CHECKING:

        def client_left(self) -> None: ...
        def stop(self) -> None: ...

    def watch(self, transport: asyncio.BaseTransport | None) -> None:
        """Watch ``transport`` (a client that has already gone is a departure)."""
        self.transport, self.saved_user_timeout = transport, None
        if transport is None or transport.is_closing():
            self.client_left()
            return
        inner = transport.get_protocol()
        assert isinstance(inner, asyncio.Protocol)
        self.inner = inner
        timeout, sock = self.options.send_timeout, transport.get_extra_info("socket")
        tcp = sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6)
        if timeout is not None and _TCP_USER_TIMEOUT is not None and tcp:
            self.saved_user_timeout = sock.getsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT, int(timeout * 1000))
        transport.set_protocol(self)

    def release(self) -> None:
        """The stream has ended and the connection may serve another request
        (keep-alive): give it back to the server's protocol, with its own timeout."""
        transport = self.transport
        if transport is None:
            return
        if transport.get_protocol() is self:  # watched, and not released yet
            transport.set_protocol(self.inner)
        saved, self.saved_user_timeout = self.saved_user_timeout, None
        sock = transport.get_extra_info("socket")
        if saved is not None and _TCP_USER_TIMEOUT is not None and sock is not None:
            with contextlib.suppress(OSError):  # closed meanwhile
                sock.setsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT, saved)

    def send_timed_out(self) -> None:
        transport = self.transport
        if transport is None:
            return
        peer = transport.get_extra_info("peername")
        self.options.logger.warning(
            "sse_fast: client %s read nothing for send_timeout=%s s: connection aborted",
            peer[0] if isinstance(peer, tuple) else peer, self.options.send_timeout,
        )  # fmt: skip
        # A stalled client never drains the buffer, so a graceful close would hang. After
        # the stalled send has raised: a handler cancelled for the abort must see
        # SendTimeoutError, not CancelledError.
        assert isinstance(transport, asyncio.WriteTransport)
        asyncio.get_running_loop().call_soon(reset, transport)

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
        if isinstance(exc, TimeoutError) and not self.stopping:
            # ETIMEDOUT: TCP_USER_TIMEOUT (the send timeout) dropped a client that stopped
            # reading, as the stream's own timer was about to.
            self.timed_out = True
            self.stop()
        else:
            self.client_left()
