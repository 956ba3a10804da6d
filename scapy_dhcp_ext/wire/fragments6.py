"""IPv6 fragments (RFC 8200 4.5), pure: a frame cut to fit a link, and frames put back together.

A DHCPv6 message past the link's MTU travels in fragments both ways: a hostile REPLY of
65,000 bytes goes out in 45 of them, and a client that writes 100 addresses back into its
REQUEST sends it in two. :class:`Reassembly6` takes every fragment read and gives back the
whole frame once its pieces are in, so that such a REQUEST is seen as one.

    >>> frames = fragment6(big_frame, mtu=1500)
    >>> whole = [w for f in frames if (w := Reassembly6().add(f))]
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field
from typing import Callable

from .dhcp6 import IP6_AT, IP6_HLEN, IP6_NH, ip6_header

FRAGMENT = 44     # the Fragment header's next-header number
MTU = 1500
KEEP = 64         # datagrams being put together at once; the oldest goes first
MAX_BYTES = 65535
TIMEOUT = 60.0    # RFC 8200 4.5: a datagram not whole within 60 s is given up


def is_fragment6(raw: bytes) -> bool:
    return len(raw) >= IP6_AT + IP6_HLEN + 8 and raw[12:14] == b"\x86\xdd" and raw[IP6_NH] == FRAGMENT


def fragment6(frame: bytes, mtu: int = MTU, ident: int = 0x5CA9D6) -> list[bytes]:
    """The frame as it is when it fits the MTU, else its IPv6 payload cut into fragments
    (a Fragment header each, 8-byte multiples but the last)."""
    if len(frame) - IP6_AT <= mtu:
        return [frame]
    payload = frame[IP6_AT + IP6_HLEN:]
    src, dst = frame[IP6_AT + 8:IP6_AT + 24], frame[IP6_AT + 24:IP6_AT + 40]
    nh, hops = frame[IP6_NH], frame[IP6_AT + 7]
    size = (mtu - IP6_HLEN - 8) // 8 * 8
    out = []
    for at in range(0, len(payload), size):
        more = 1 if at + size < len(payload) else 0
        piece = struct.pack("!BBHI", nh, 0, at | more, ident) + payload[at:at + size]
        out.append(frame[:IP6_AT] + ip6_header(len(piece), FRAGMENT, src, dst, hops) + piece)
    return out


@dataclass
class _Datagram:
    first: float                     # when its first fragment came
    pieces: dict[int, bytes] = field(default_factory=dict)   # offset -> data
    total: int | None = None         # known once the last fragment (M = 0) came
    head: bytes = b""                # the Ethernet header of the first fragment
    next_header: int = 0             # what the first fragment says follows


class Reassembly6:
    """Fragments in, whole frames out: :meth:`add` gives the frame once every piece of its
    datagram came (overlaps and datagrams past 64 KiB are dropped, as RFC 8200 says)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._open: dict[bytes, _Datagram] = {}

    def add(self, raw: bytes) -> bytes | None:
        """``raw`` if it is a fragment: the whole frame when this was its last missing piece, else None."""
        if not is_fragment6(raw):
            return None
        at = IP6_AT + IP6_HLEN
        next_header, _reserved, offset_more, ident = struct.unpack_from("!BBHI", raw, at)
        length = struct.unpack_from("!H", raw, IP6_AT + 4)[0]
        data = raw[at + 8:at + length]
        offset = offset_more & 0xFFF8
        key = raw[IP6_AT + 8:IP6_AT + 40] + struct.pack("!I", ident)
        now = self.clock()
        for old in [k for k, d in self._open.items() if now - d.first > TIMEOUT]:
            del self._open[old]
        d = self._open.get(key)
        if d is None:
            if len(self._open) >= KEEP:
                del self._open[min(self._open, key=lambda k: self._open[k].first)]
            d = self._open[key] = _Datagram(now)
        overlaps = any(o < offset + len(data) and offset < o + len(p) for o, p in d.pieces.items())
        if overlaps or offset + len(data) > MAX_BYTES:
            del self._open[key]   # RFC 8200 4.5: a datagram with overlapping fragments is dropped whole
            return None
        d.pieces[offset] = data
        if not offset_more & 1:
            d.total = offset + len(data)
        if offset == 0:
            d.head, d.next_header = raw[:IP6_AT], next_header
        if d.total is None or 0 not in d.pieces or sum(len(p) for p in d.pieces.values()) != d.total:
            return None
        del self._open[key]
        payload = b"".join(d.pieces[o] for o in sorted(d.pieces))
        return d.head + ip6_header(len(payload), d.next_header, raw[IP6_AT + 8:IP6_AT + 24],
                                   raw[IP6_AT + 24:IP6_AT + 40], raw[IP6_AT + 7]) + payload
