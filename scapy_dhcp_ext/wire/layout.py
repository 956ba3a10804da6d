"""Layouts and offsets of the frames DHCP travels in (Ethernet, IPv4, UDP,
BOOTP, ARP, ICMP echo), addresses, checksums and whole frames. Pure code."""

from __future__ import annotations

import functools
import random
import socket
import struct
from typing import Any

__all__ = [
    "DISCOVER",
    "OFFER",
    "REQUEST",
    "DECLINE",
    "ACK",
    "NAK",
    "RELEASE",
    "INFORM",
    "FORCERENEW",
    "MESSAGE_TYPES",
    "BOOTREQUEST",
    "BOOTREPLY",
    "CLIENT_PORT",
    "SERVER_PORT",
    "MAGIC_COOKIE",
    "BROADCAST_MAC",
    "BROADCAST_IP",
    "ZERO_IP",
    "BROADCAST_FLAG",
    "ETHERTYPE_IPV4",
    "ETHERTYPE_ARP",
    "ETHERTYPE_IPV6",
    "ETH_TYPE_IPV4",
    "ETH_TYPE_ARP",
    "ETH_TYPE_IPV6",
    "IPV4_NO_OPTIONS",
    "IPPROTO_ICMP",
    "IPPROTO_UDP",
    "ETH_HLEN",
    "IP_HLEN",
    "UDP_HLEN",
    "ETH_DST",
    "ETH_SRC",
    "ETH_TYPE",
    "IP_AT",
    "IP_LEN",
    "IP_ID",
    "IP_FRAG",
    "IP_PROTO",
    "IP_CSUM",
    "IP_SRC",
    "IP_DST",
    "UDP_AT",
    "UDP_SPORT",
    "UDP_DPORT",
    "UDP_LEN",
    "UDP_CSUM",
    "BOOTP_AT",
    "IP_MF",
    "IPV4_HEADER",
    "UDP_HEADER",
    "IP_OFFSET_MASK",
    "Bootp",
    "BOOTP_FIXED",
    "BOOTP_HEADER",
    "FRAME_XID",
    "FRAME_YIADDR",
    "FRAME_GIADDR",
    "FRAME_CHADDR",
    "FRAME_COOKIE",
    "FRAME_OPTIONS",
    "ARP_OPER",
    "ARP_SHA",
    "ARP_SPA",
    "ARP_THA",
    "ARP_TPA",
    "ARP_LEN",
    "ARP_REQUEST",
    "ARP_REPLY",
    "mac_bytes",
    "mac_str",
    "random_mac",
    "ip_bytes",
    "ip_str",
    "ip_text",
    "new_xid",
    "checksum",
    "udp_checksum",
    "word_sum",
    "ip_header",
    "patch_ip_checksum",
    "patch_checksums",
    "finish_udp_checksum",
    "ip_udp_frame",
    "bootp_header",
    "arp_frame",
    "icmp_echo_frame",
    "is_arp_reply_from",
    "is_icmp_echo_reply",
    "udp_ports",
]

# --- message types, ports, addresses ----------------------------------------

DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM, FORCERENEW = range(1, 10)
MESSAGE_TYPES = {
    1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK",
    7: "RELEASE", 8: "INFORM", 9: "FORCERENEW", 10: "LEASEQUERY",
    11: "LEASEUNASSIGNED", 12: "LEASEUNKNOWN", 13: "LEASEACTIVE",
}
BOOTREQUEST, BOOTREPLY = 1, 2
CLIENT_PORT, SERVER_PORT = 68, 67
MAGIC_COOKIE = b"\x63\x82\x53\x63"
BROADCAST_MAC = b"\xff" * 6
BROADCAST_IP = "255.255.255.255"
ZERO_IP = "0.0.0.0"
BROADCAST_FLAG = 0x8000

# --- layouts ------------------------------------------------------------------

ETHERTYPE_IPV4, ETHERTYPE_ARP, ETHERTYPE_IPV6 = 0x0800, 0x0806, 0x86DD
# The same as the two bytes at ETH_TYPE, for the fast paths that compare slices.
ETH_TYPE_IPV4, ETH_TYPE_ARP, ETH_TYPE_IPV6 = b"\x08\x00", b"\x08\x06", b"\x86\xdd"
IPV4_NO_OPTIONS = 0x45           # version 4, a 20-byte header: the first byte of every IPv4 header we read fast
IPPROTO_ICMP, IPPROTO_UDP = 1, 17
ETH_HLEN, IP_HLEN, UDP_HLEN = 14, 20, 8

# Offsets in an Ethernet frame holding IPv4 without options (every frame we build).
ETH_DST, ETH_SRC, ETH_TYPE = 0, 6, 12
IP_AT = ETH_HLEN                 # 14
IP_LEN = IP_AT + 2               # total length
IP_ID = IP_AT + 4
IP_FRAG = IP_AT + 6              # flags and fragment offset
IP_PROTO = IP_AT + 9             # 23
IP_CSUM = IP_AT + 10             # 24
IP_SRC = IP_AT + 12              # 26
IP_DST = IP_AT + 16              # 30
UDP_AT = IP_AT + IP_HLEN         # 34
UDP_SPORT, UDP_DPORT, UDP_LEN, UDP_CSUM = UDP_AT, UDP_AT + 2, UDP_AT + 4, UDP_AT + 6
BOOTP_AT = UDP_AT + UDP_HLEN     # 42
IP_MF, IP_OFFSET_MASK = 0x2000, 0x1FFF
# version+IHL, TOS, total length, id, flags+fragment offset, TTL, protocol, checksum, source, destination
IPV4_HEADER = struct.Struct("!BBHHHBBH4s4s")
UDP_HEADER = struct.Struct("!HHHH")               # source port, destination port, length, checksum


class Bootp:
    """Offsets inside a BOOTP message (RFC 951/2131 figure 1)."""

    OP, HTYPE, HLEN, HOPS, XID, SECS, FLAGS = 0, 1, 2, 3, 4, 8, 10
    CIADDR, YIADDR, SIADDR, GIADDR, CHADDR = 12, 16, 20, 24, 28
    SNAME, FILE, COOKIE, OPTIONS = 44, 108, 236, 240
    FIXED = 236                      # op .. file, without the magic cookie
    SNAME_LEN, FILE_LEN = 64, 128


BOOTP_FIXED = Bootp.FIXED
BOOTP_HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")   # the 236 fixed bytes
# The same offsets in a frame we build (Ethernet + 20-byte IP + UDP before BOOTP).
FRAME_XID = BOOTP_AT + Bootp.XID                 # 46
FRAME_YIADDR = BOOTP_AT + Bootp.YIADDR           # 58
FRAME_GIADDR = BOOTP_AT + Bootp.GIADDR           # 66
FRAME_CHADDR = BOOTP_AT + Bootp.CHADDR           # 70
FRAME_COOKIE = BOOTP_AT + Bootp.COOKIE           # 278
FRAME_OPTIONS = BOOTP_AT + Bootp.OPTIONS         # 282

# ARP (RFC 826) for IPv4 over Ethernet, offsets in the frame.
ARP_OPER, ARP_SHA, ARP_SPA, ARP_THA, ARP_TPA = 20, 22, 28, 32, 38
ARP_LEN = 42
ARP_REQUEST, ARP_REPLY = 1, 2


# --- addresses ------------------------------------------------------------------

def mac_bytes(mac: str | bytes) -> bytes:
    """``"02:00:00:00:00:01"`` (or ``-`` separated, or 6 bytes) as 6 bytes."""
    if isinstance(mac, (bytes, bytearray)):
        if len(mac) != 6:
            raise ValueError(f"a MAC address has 6 bytes, not {len(mac)}")
        return bytes(mac)
    parts = mac.replace("-", ":").split(":")
    if len(parts) != 6:
        raise ValueError(f"not a MAC address: {mac!r} (expected aa:bb:cc:dd:ee:ff)")
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError(f"not a MAC address: {mac!r} (expected aa:bb:cc:dd:ee:ff)") from None


def mac_str(mac: bytes) -> str:
    """6 bytes (or more: the first 6, as in chaddr) as ``aa:bb:cc:dd:ee:ff``."""
    return bytes(mac)[:6].hex(":")


def random_mac(rng: random.Random | None = None) -> str:
    """A fresh random, locally administered, unicast MAC address."""
    octets = bytearray((rng or random).getrandbits(8) for _ in range(6))
    octets[0] = (octets[0] & 0xFC) | 0x02
    return mac_str(bytes(octets))


def ip_bytes(addr: Any) -> bytes:
    """An IPv4 address (text, ``ipaddress`` or None for 0.0.0.0) as 4 bytes.
    Text is remembered: a server turns the same few addresses into bytes for
    every reply (socket.inet_aton's errors, OSError, as before)."""
    if not addr:
        return b"\0\0\0\0"
    return _inet_aton(addr) if addr.__class__ is str else socket.inet_aton(str(addr))


_inet_aton = functools.lru_cache(maxsize=1 << 16)(socket.inet_aton)


def ip_str(raw: bytes) -> str:
    return socket.inet_ntoa(bytes(raw))


# Four bytes (``bytes``: a key) as text, remembered: a server reads the same few
# addresses (its own, the relays', its pool's) from request after request.
ip_text = functools.lru_cache(maxsize=1 << 16)(ip_str)


def new_xid(rng: random.Random | None = None) -> int:
    return (rng or random).getrandbits(32)


# --- checksums ------------------------------------------------------------------

def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``.

    The one's-complement sum of 16-bit words is the bytes read as one big
    number modulo 0xFFFF (2**16 is 1 there), except that a non-zero sum
    that folds to 0 is 0xFFFF: one C-level division instead of a loop."""
    if len(data) % 2:
        data = bytes(data) + b"\0"
    value = int.from_bytes(data, "big")
    total = value % 0xFFFF
    if total == 0 and value:
        total = 0xFFFF
    return ~total & 0xFFFF


def word_sum(data: bytes) -> int:
    """The one's-complement sum of ``data``'s 16-bit words (an odd last byte
    padded), modulo 0xFFFF: parts at even offsets add up to the whole's."""
    value = int.from_bytes(data, "big")
    return (value << 8 if len(data) % 2 else value) % 0xFFFF


def udp_checksum(src: bytes, dst: bytes, udp: bytes) -> int:
    """UDP's checksum over the IPv4 pseudo-header (4-byte addresses) or the
    IPv6 one (16-byte); the checksum field of ``udp`` is taken as zero. A
    computed 0 goes out as 0xFFFF (0 means "none").

    No copies: modulo 0xFFFF every 16-bit word weighs 1, so the pseudo-header
    is its addresses, the protocol and the length added as numbers, and the
    checksum field (at an even offset) is taken out by subtracting it."""
    n = len(udp)
    small = int.from_bytes(src, "big") + int.from_bytes(dst, "big") + IPPROTO_UDP + n
    if n >= 8:
        small -= udp[6] << 8 | udp[7]
    total = (word_sum(udp) + small) % 0xFFFF
    return 0xFFFF - total if total else 0xFFFF


def ip_header(length: int, proto: int, src: bytes, dst: bytes, *, ttl: int = 64, ident: int = 0,
              frag: int = 0) -> bytes:
    """A 20-byte IPv4 header with its checksum (remembered: a server's replies
    to one relay or client share theirs)."""
    try:
        return _ip_header(length, proto, src, dst, ttl, ident, frag)
    except TypeError:   # addresses given as a bytearray: not a key, built afresh
        return _ip_header.__wrapped__(length, proto, bytes(src), bytes(dst), ttl, ident, frag)


@functools.lru_cache(maxsize=4096)
def _ip_header(length: int, proto: int, src: bytes, dst: bytes, ttl: int, ident: int, frag: int) -> bytes:
    return IPV4_HEADER.pack(0x45, 0, length, ident, frag, ttl, proto,
                            checksum(IPV4_HEADER.pack(0x45, 0, length, ident, frag, ttl, proto, 0, src, dst)),
                            src, dst)


def patch_ip_checksum(frame: bytearray, at: int = IP_AT) -> None:
    """Recomputes the IPv4 header checksum in place (after a field was changed)."""
    ihl = (frame[at] & 0x0F) * 4
    frame[at + 10:at + 12] = b"\0\0"
    frame[at + 10:at + 12] = struct.pack("!H", checksum(bytes(frame[at:at + ihl])))


def patch_checksums(frame: bytearray) -> None:
    """Recomputes the IPv4 header and UDP checksums of an Ethernet frame in
    place, from the length fields as they are (a lying UDP length is left lying,
    with a checksum of 0: "none")."""
    patch_ip_checksum(frame)
    ihl = (frame[IP_AT] & 0x0F) * 4
    start = IP_AT + ihl
    ulen = struct.unpack_from("!H", frame, start + 4)[0]
    if ulen < UDP_HLEN or start + ulen > len(frame):
        frame[start + 6:start + 8] = b"\0\0"
        return
    csum = udp_checksum(bytes(frame[IP_SRC:IP_SRC + 4]), bytes(frame[IP_DST:IP_DST + 4]),
                        bytes(frame[start:start + ulen]))
    struct.pack_into("!H", frame, start + 6, csum)


def finish_udp_checksum(raw: bytes) -> bytes:
    """The frame with its UDP checksum computed, as a NIC with checksum offload
    would have done on the wire (veth hands packet sockets the frame before)."""
    if len(raw) < BOOTP_AT or raw[ETH_TYPE:ETH_TYPE + 2] != b"\x08\x00" or raw[IP_PROTO] != IPPROTO_UDP:
        return raw
    start = IP_AT + (raw[IP_AT] & 0x0F) * 4
    ulen = raw[start + 4] << 8 | raw[start + 5]
    if ulen < UDP_HLEN or start + ulen > len(raw):
        return raw
    csum = udp_checksum(raw[IP_SRC:IP_SRC + 4], raw[IP_DST:IP_DST + 4], raw[start:start + ulen])
    return b"".join((raw[:start + 6], csum.to_bytes(2, "big"), raw[start + 8:]))


# --- frames -----------------------------------------------------------------------

def ip_udp_frame(payload: bytes, *, src_mac: bytes, dst_mac: bytes, src_ip: str, dst_ip: str,
                 sport: int, dport: int, ttl: int = 64, ip_id: int = 0, payload_sum: int | None = None) -> bytes:
    """Ethernet + IPv4 + UDP around ``payload``, lengths and checksums computed.
    ``payload_sum``: its :func:`word_sum`, when the caller has it from parts
    kept (a server's replies), so the payload is not summed again."""
    src, dst = ip_bytes(src_ip), ip_bytes(dst_ip)
    ulen = UDP_HLEN + len(payload)
    # The UDP checksum as udp_checksum() reckons it, without building the segment twice.
    small = sport + dport + ulen + int.from_bytes(src, "big") + int.from_bytes(dst, "big") + IPPROTO_UDP + ulen
    total = ((word_sum(payload) if payload_sum is None else payload_sum) + small) % 0xFFFF
    header = ip_header(IP_HLEN + ulen, IPPROTO_UDP, src, dst, ttl=ttl, ident=ip_id)
    return b"".join((dst_mac, src_mac, b"\x08\x00", header,
                     UDP_HEADER.pack(sport, dport, ulen, 0xFFFF - total if total else 0xFFFF), payload))


def bootp_header(op: int, xid: int, chaddr: bytes, *, htype: int = 1, hlen: int = 6, hops: int = 0,
                 secs: int = 0, flags: int = 0, ciaddr: Any = None, yiaddr: Any = None, siaddr: Any = None,
                 giaddr: Any = None, sname: bytes = b"", file: bytes = b"") -> bytes:
    """The 236 fixed bytes of a BOOTP message (no cookie, no options)."""
    return BOOTP_HEADER.pack(op, htype, hlen, hops, xid, secs, flags, ip_bytes(ciaddr), ip_bytes(yiaddr),
                             ip_bytes(siaddr), ip_bytes(giaddr), bytes(chaddr).ljust(16, b"\0"), sname, file)


def arp_frame(oper: int, *, sha: bytes, spa: bytes, tha: bytes, tpa: bytes, dst: bytes | None = None) -> bytes:
    """An ARP request or reply for IPv4 over Ethernet; addresses as bytes."""
    to = dst if dst is not None else (BROADCAST_MAC if oper == ARP_REQUEST else tha)
    return (to + sha + b"\x08\x06" + struct.pack("!HHBBH", 1, ETHERTYPE_IPV4, 6, 4, oper)
            + sha + spa + tha + tpa)


def icmp_echo_frame(*, src_mac: bytes, dst_mac: bytes, src: str, dst: str, ident: int, seq: int = 1,
                    data: bytes = b"scapy-dhcp probe") -> bytes:
    """An ICMP echo request (RFC 792) in an Ethernet frame."""
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    return dst_mac + src_mac + b"\x08\x00" + ip_header(IP_HLEN + len(icmp), IPPROTO_ICMP, ip_bytes(src),
                                                       ip_bytes(dst)) + icmp


def is_arp_reply_from(raw: bytes, address: bytes) -> bool:
    return (len(raw) >= ARP_LEN and raw[ETH_TYPE:ETH_TYPE + 2] == b"\x08\x06"
            and raw[ARP_OPER:ARP_OPER + 2] == b"\x00\x02" and raw[ARP_SPA:ARP_SPA + 4] == address)


def is_icmp_echo_reply(raw: bytes, ident: int) -> bool:
    if len(raw) < IP_AT + IP_HLEN + 8 or raw[ETH_TYPE:ETH_TYPE + 2] != b"\x08\x00" or raw[IP_PROTO] != IPPROTO_ICMP:
        return False
    at = IP_AT + (raw[IP_AT] & 0x0F) * 4
    return raw[at] == 0 and raw[at + 4:at + 6] == struct.pack("!H", ident)


def udp_ports(raw: bytes) -> tuple[int, int] | None:
    """(source, destination) port of an IPv4 UDP frame that is not a later fragment."""
    if len(raw) < BOOTP_AT or raw[ETH_TYPE:ETH_TYPE + 2] != b"\x08\x00" or raw[IP_PROTO] != IPPROTO_UDP:
        return None
    if struct.unpack_from("!H", raw, IP_FRAG)[0] & IP_OFFSET_MASK:
        return None
    at = IP_AT + (raw[IP_AT] & 0x0F) * 4
    if len(raw) < at + UDP_HLEN:
        return None
    sport, dport = struct.unpack_from("!HH", raw, at)
    return sport, dport
