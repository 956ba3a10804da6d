"""A receive ring (PACKET_MMAP, TPACKET_V2) on a raw socket, for a server's reader.

Read with ``recvmsg``, every frame costs a system call, and at a few thousand
frames a second (a storm, perfdhcp) that was a third of what the server spent on
a request. With a ring the kernel writes each frame into memory it shares with
us and flags it ready; reading one is a few compares and a copy, and a frame is
given back by clearing its flag. ``select`` on the socket still says when one
is ready.

A socket takes its ring when a server's reader first starts on it (a session that
only sends DISCOVERs never pays for one) and keeps it until it closes. Frames
queued before then stay in the socket's ordinary queue; the reader takes those
first (:class:`~scapy_dhcp_ext.link.base.LinkSocket`). A frame longer than a
ring's slot (sized from the interface's MTU when the ring is made) is kept cut
to the slot and counted in ``cut``.

The flag is read before the frame, and cleared after it is copied, as the
kernel's own readers do; Python gives no memory barrier between the two, and
on a CPU that reorders loads that is only safe because the copy comes many
instructions after the check.
"""

from __future__ import annotations

import mmap
import socket
import struct

SOL_PACKET = 263
PACKET_RX_RING, PACKET_VERSION, TPACKET_V2 = 5, 10, 1
TP_STATUS_USER, TP_STATUS_CSUMNOTREADY = 1, 1 << 3
RING_BYTES = 8 << 20   # 4,096 slots of 2 KiB: a storm at line rate while the server is busy
_HEADER = struct.Struct("IIIHH")   # tpacket2_hdr: tp_status, tp_len, tp_snaplen, tp_mac, tp_net
_STATUS = struct.Struct("I")
_ROOM = 128   # a slot's own header and alignment before the frame (66 bytes for SOCK_RAW on TPACKET_V2)


class RxRing:
    """The receive ring of the AF_PACKET socket ``sock`` (bound or not), with
    slots for frames of an interface of MTU ``mtu``; see the module's docstring.
    Raises OSError when the kernel will not give one."""

    def __init__(self, sock: socket.socket, mtu: int, size: int = RING_BYTES) -> None:
        slot = 2048
        while slot < mtu + 18 + _ROOM:   # Ethernet header and a VLAN tag
            slot *= 2
        block = max(slot, 1 << 16)
        blocks = max(1, size // block)
        self.slots, self.slot = block // slot * blocks, slot
        sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V2)
        sock.setsockopt(SOL_PACKET, PACKET_RX_RING, struct.pack("IIII", block, blocks, slot, self.slots))
        try:
            self.mm = mmap.mmap(sock.fileno(), block * blocks, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError:
            sock.setsockopt(SOL_PACKET, PACKET_RX_RING, bytes(16))   # no ring, then: the queue again
            raise
        self.cut = 0   # frames longer than a slot, kept cut
        self._next = 0

    def ready(self) -> bool:
        """Whether the next slot holds a frame."""
        return bool(_STATUS.unpack_from(self.mm, self._next * self.slot)[0] & TP_STATUS_USER)

    def take(self, limit: int) -> list[tuple[bytes, bool]]:
        """Up to ``limit`` frames, oldest first, each with whether its UDP checksum is
        still to be finished (a local sender's); their slots go back to the kernel."""
        mm, slot, slots, i = self.mm, self.slot, self.slots, self._next
        header, clear = _HEADER.unpack_from, _STATUS.pack_into
        got: list[tuple[bytes, bool]] = []
        while len(got) < limit:
            at = i * slot
            status, length, snap, mac, _net = header(mm, at)
            if not status & TP_STATUS_USER:
                break
            got.append((mm[at + mac:at + mac + snap], bool(status & TP_STATUS_CSUMNOTREADY)))
            if snap < length:
                self.cut += 1
            clear(mm, at, 0)
            i = i + 1 if i + 1 < slots else 0
        self._next = i
        return got

    def close(self) -> None:
        self.mm.close()
