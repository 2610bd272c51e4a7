"""What the adapters do to a client's asyncio transport."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

__all__ = ["reset"]

_LINGER_NONE = struct.pack("ii", 1, 0)


def reset(transport: asyncio.WriteTransport) -> None:
    """Abort a connection whose client stopped reading, with a reset: the kernel drops
    the data the client never took instead of holding it until the send gives up."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed, or not TCP
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_NONE)
    transport.abort()
