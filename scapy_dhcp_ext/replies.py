"""Build a server's replies (pure): OFFER, ACK, NAK, FORCERENEW, addressed as
RFC 2131 4.1 says.

Where a reply goes, in 4.1's order:

- ``giaddr`` set: to the relay, UDP port 67, at the MAC it came from (a NAK
  with the broadcast bit set, so the relay broadcasts it);
- a NAK otherwise: broadcast;
- ``ciaddr`` set (RENEWING, REBINDING, INFORM): unicast to ciaddr;
- the broadcast bit set: broadcast;
- else unicast to chaddr and yiaddr (the client has no address yet, so no
  ARP: the frame is built with the client's MAC).

The options a server sends on every reply are encoded once (:class:`ReplyOptions`);
a reply is the fixed header, option 53, the server id, those, option 82
echoed last (RFC 3046 2.2), END, and PAD to BOOTP's 300 bytes.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .frames import Frame
from .packets import encode_option
from .wire import (
    ACK,
    BOOTREPLY,
    BROADCAST_FLAG,
    BROADCAST_IP,
    BROADCAST_MAC,
    FORCERENEW,
    MAGIC_COOKIE,
    NAK,
    ZERO_IP,
    bootp_header,
    ip_udp_frame,
    option_number,
)

MIN_BOOTP = 300   # RFC 1542 2.1: relays and old clients expect at least this


@dataclass
class ReplyOptions:
    """The options of every reply, encoded once: ``lease`` (51, 58, 59) for
    OFFER and ACK, ``common`` (mask, router, DNS and the user's) for those and
    INFORM's ACK."""

    server_id: bytes
    lease: bytes
    common: bytes

    @classmethod
    def build(cls, *, server_ip: str, network: ipaddress.IPv4Network, lease_time: int,
              t1: int | None = None, t2: int | None = None,
              options: Mapping[Any, Any] | Iterable[tuple[Any, Any]] | None = None) -> ReplyOptions:
        """``options`` adds or replaces options by name or code (``{"domain":
        "lab.test", 42: "10.0.0.1"}``); a value of None leaves one out (router,
        name_server, subnet_mask are there by default)."""
        t1 = lease_time // 2 if t1 is None else t1
        t2 = lease_time * 7 // 8 if t2 is None else t2
        chosen: dict[int, Any] = {1: str(network.netmask), 3: server_ip, 6: server_ip}
        pairs = options.items() if isinstance(options, Mapping) else (options or [])
        for key, value in pairs:
            code = option_number(key)
            if code in (53, 54, 51, 58, 59, 82):
                raise ValueError(f"option {key!r} is the server's own: use lease_time=, t1=, t2=, server_ip=")
            chosen.pop(code, None)
            if value is not None:
                chosen[code] = value
        common = b"".join(encode_option(code, value) for code, value in chosen.items())
        lease = (b"\x33\x04" + struct.pack("!I", lease_time & 0xFFFFFFFF)
                 + b"\x3a\x04" + struct.pack("!I", t1 & 0xFFFFFFFF)
                 + b"\x3b\x04" + struct.pack("!I", t2 & 0xFFFFFFFF))
        return cls(b"\x36\x04" + ipaddress.IPv4Address(server_ip).packed, lease, common)


def destination(request: Frame, msg_type: int, yiaddr: str) -> tuple[bytes, str, int, int]:
    """(MAC, IP, UDP port, flags) a reply to ``request`` goes to (RFC 2131 4.1)."""
    flags = request.flags
    if request.giaddr != ZERO_IP:
        if msg_type == NAK:
            flags |= BROADCAST_FLAG
        return request.eth_src or BROADCAST_MAC, request.giaddr, 67, flags
    if msg_type == NAK:
        return BROADCAST_MAC, BROADCAST_IP, 68, flags
    if request.ciaddr != ZERO_IP:
        return request.chaddr, request.ciaddr, 68, flags
    if flags & BROADCAST_FLAG or yiaddr == ZERO_IP:
        return BROADCAST_MAC, BROADCAST_IP, 68, flags
    return request.chaddr, yiaddr, 68, flags


def build_reply(request: Frame, msg_type: int, opts: ReplyOptions, *, server_mac: bytes, server_ip: str,
                yiaddr: str = ZERO_IP, lease: bool = True, message: str | None = None) -> bytes:
    """The whole frame of one reply to ``request``. ``lease`` False leaves
    out 51, 58, 59 (INFORM's ACK); a NAK carries only 53, 54 and ``message`` (56)."""
    dst_mac, dst_ip, dport, flags = destination(request, msg_type, yiaddr)
    ciaddr = request.ciaddr if msg_type == ACK else ZERO_IP
    header = bootp_header(BOOTREPLY, request.xid or 0, request.chaddr, flags=flags, ciaddr=ciaddr,
                          yiaddr=yiaddr if msg_type != NAK else ZERO_IP, giaddr=request.giaddr)
    body = bytearray(header + MAGIC_COOKIE + bytes((53, 1, msg_type)) + opts.server_id)
    if msg_type == NAK:
        if message:
            body += encode_option(56, message)
    else:
        if lease:
            body += opts.lease
        body += opts.common
    relay_info = request.options.get(82)
    if relay_info is not None:   # RFC 3046 2.2: echoed whole, in every reply
        body += encode_option(82, relay_info)
    body += b"\xff"
    if len(body) < MIN_BOOTP:
        body += bytes(MIN_BOOTP - len(body))
    return ip_udp_frame(bytes(body), src_mac=server_mac, dst_mac=dst_mac, src_ip=server_ip, dst_ip=dst_ip,
                        sport=67, dport=dport)


def build_forcerenew(*, chaddr: bytes, address: str, opts: ReplyOptions, server_mac: bytes, server_ip: str,
                     xid: int) -> bytes:
    """RFC 3203: FORCERENEW, unicast to the client's address, with no authentication."""
    header = bootp_header(BOOTREPLY, xid, chaddr, ciaddr=address)
    body = bytearray(header + MAGIC_COOKIE + bytes((53, 1, FORCERENEW)) + opts.server_id + b"\xff")
    body += bytes(max(0, MIN_BOOTP - len(body)))
    return ip_udp_frame(bytes(body), src_mac=server_mac, dst_mac=chaddr, src_ip=server_ip, dst_ip=address,
                        sport=67, dport=68)
