"""A socket that answers like a scripted DHCP server, for tests without a network.

It is one end of a socketpair, so ``select`` works on it; every frame sent is
handed to ``respond``, and the frames it returns become readable at once."""

from __future__ import annotations

import collections
import errno
import os
import socket
import struct
from typing import Callable

from scapy_dhcp_ext.wire import (
    ACK,
    BOOTREPLY,
    MAGIC_COOKIE,
    NAK,
    OFFER,
    bootp_header,
    ip_udp_frame,
    mac_bytes,
)
from scapy_dhcp_ext.wire.frames4 import Frame, parse_frame

SERVER_MAC = mac_bytes("02:53:00:00:00:01")
SERVER_IP = "10.9.0.1"


def reply_frame(request: Frame, msg_type: int, *, yiaddr: str = "10.9.0.50", xid: int | None = None,
                chaddr: bytes | None = None, options: bytes | None = None,
                server_ip: str = SERVER_IP) -> bytes:
    """A server reply to ``request``; ``options`` replaces the default options."""
    chaddr = request.chaddr if chaddr is None else chaddr
    header = bootp_header(BOOTREPLY, request.xid if xid is None else xid, chaddr, yiaddr=yiaddr)
    if options is None:
        options = (bytes([53, 1, msg_type, 54, 4]) + socket.inet_aton(server_ip)
                   + bytes([51, 4]) + struct.pack("!I", 600) + bytes([1, 4, 255, 255, 255, 0])
                   + bytes([3, 4]) + socket.inet_aton(server_ip) + b"\xff")
    payload = header + MAGIC_COOKIE + options
    return ip_udp_frame(payload, src_mac=SERVER_MAC, dst_mac=request.chaddr or b"\xff" * 6,
                        src_ip=server_ip, dst_ip="255.255.255.255", sport=67, dport=68)


def simple_server(frame: Frame) -> list[bytes]:
    """OFFER a DISCOVER, ACK a REQUEST for 10.9.0.50, NAK any other REQUEST."""
    mt = frame.message_type
    if mt == 1:
        return [reply_frame(frame, OFFER)]
    if mt == 3:
        wanted = frame._addr(50) or frame.ciaddr
        return [reply_frame(frame, ACK if wanted == "10.9.0.50" else NAK)]
    if mt == 8:
        return [reply_frame(frame, ACK, yiaddr="0.0.0.0")]
    return []


class FakeSocket:
    """A socket whose peer is ``respond``: what it returns for a frame sent can
    be read at once. The frames wait in a queue of their own (a datagram
    socketpair holds only ten); a pipe, one byte a frame, makes ``select`` work."""

    def __init__(self, respond: Callable[[Frame], list[bytes]] = simple_server) -> None:
        self._read, self._bell = os.pipe()
        os.set_blocking(self._read, False)
        self._queue: collections.deque[bytes] = collections.deque()
        self.respond = respond
        self.sent: list[bytes] = []
        self.closed = False

    def send(self, data: bytes) -> int:
        self.sent.append(bytes(data))
        frame = parse_frame(data)
        if frame.is_dhcp:
            for reply in self.respond(frame):
                self.inject(reply)
        return len(data)

    def inject(self, data: bytes) -> None:
        self._queue.append(bytes(data))
        os.write(self._bell, b"x")

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        try:
            os.read(self._read, 1)
        except BlockingIOError:
            raise BlockingIOError(errno.EAGAIN, "no frame waiting") from None
        return self._queue.popleft()[:bufsize]

    def recvmsg(self, bufsize: int, ancbufsize: int = 0, flags: int = 0):
        return self.recv(bufsize, flags), [], 0, None

    def fileno(self) -> int:
        return self._read

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._read)
            os.close(self._bell)
