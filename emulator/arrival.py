"""When the daemon's bytes reached the emulated FreeSWITCH: the kernel's receive time, not the loop's.

A real FreeSWITCH reads each event socket in a thread of its own and runs an
``api`` command the moment it arrives (mod_event_socket's listener thread calls
``switch_api_execute`` inline: ``uuid_kill`` hangs the channel up before the
``+OK`` is written); its scheduler (``sched_hangup``) is another thread.  The
emulator is one asyncio process: under load its loop reads a socket hundreds of
milliseconds after the bytes came, and a timer due meanwhile (the backstop) may
run first.  What it then measures is its own lag, not the daemon's.

So the emulator's outbound sockets ask the kernel to stamp every segment they
receive (``SO_TIMESTAMPNS``; Linux stamps TCP too and hands the stamp of the last
segment a ``recvmsg`` consumed, peeking included):

* :class:`StampedSocket` keeps the arrival of what it read last, which the
  listener records beside the time it ran a ``uuid_kill``;
* :meth:`StampedSocket.unread_since` tells when the oldest byte not yet read
  arrived, so a backstop about to fire first reads what reached "FreeSWITCH"
  before it was due (:meth:`emulator.listener.Listener.catch_up`).

Where the kernel gives no stamp (another OS, uvloop's own reads) the arrival is
the time the loop read the bytes, as before.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
from collections.abc import Callable
from typing import Any, TypeVar

#: ``SO_TIMESTAMPNS`` (== ``SCM_TIMESTAMPNS``) on Linux; Python 3.11's socket module lacks the name.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("qq")
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size)

P = TypeVar("P", bound=asyncio.BaseProtocol)


def _stamp(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return float(seconds + nanoseconds / 1e9)
    return None


class StampedSocket(socket.socket):
    """A TCP socket that remembers when the kernel received what it reads (epoch seconds)."""

    arrived: float | None = None  # the last read's arrival (its last segment's), if the kernel stamped it

    def stamp_arrivals(self) -> bool:
        try:
            self.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            return False
        return True

    def recv(self, bufsize: int, flags: int = 0, /) -> bytes:
        """What the selector transport calls: ``recvmsg`` with the stamp kept."""
        data, ancillary, _flags, _address = self.recvmsg(bufsize, _ANCILLARY, flags)
        if data and not flags & socket.MSG_PEEK:
            self.arrived = _stamp(ancillary)  # None without a stamp: never an older read's
        return data

    def unread_since(self) -> float | None:
        """When the oldest unread byte arrived; None if nothing is waiting (or no stamp)."""
        try:
            data, ancillary, _flags, _address = self.recvmsg(1, _ANCILLARY, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except OSError:  # BlockingIOError: nothing to read; or the socket is closed
            return None
        return _stamp(ancillary) if data else None


async def connect(
    loop: asyncio.AbstractEventLoop, factory: Callable[[StampedSocket], P], host: str, port: int
) -> tuple[asyncio.BaseTransport, P]:
    """``loop.create_connection`` over a :class:`StampedSocket` (the factory gets the socket)."""
    family, address = await _resolve(loop, host, port)
    sock = StampedSocket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.stamp_arrivals()
        await loop.sock_connect(sock, address)
        return await loop.create_connection(lambda: factory(sock), sock=sock)
    except BaseException:
        sock.close()
        raise


async def _resolve(loop: asyncio.AbstractEventLoop, host: str, port: int) -> tuple[int, Any]:
    """An address as given needs no resolver thread (``loop.getaddrinfo`` always takes one)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        family, _kind, _proto, _name, address = (await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))[0]
        return family, address
    return (socket.AF_INET6 if ip.version == 6 else socket.AF_INET), (host, port)
