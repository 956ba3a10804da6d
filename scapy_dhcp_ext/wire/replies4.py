"""A server's side of the wire (pure): read requests fast, build replies
(OFFER, ACK, NAK, FORCERENEW) addressed as RFC 2131 4.1 says.

:func:`read_request` reads a well-formed request in a third of the time
:func:`~.frames4.parse_frame` takes, and gives up (None) on anything that is not
plainly well formed, which then goes the careful way and is logged with its
problems: a fast path that never hides a malformed request.

Where a reply goes, in 4.1's order:

- ``giaddr`` set: to the relay, UDP port 67, at the MAC it came from (a NAK
  with the broadcast bit set, so the relay broadcasts it);
- a NAK otherwise: broadcast;
- ``ciaddr`` set (RENEWING, REBINDING, INFORM): unicast to ciaddr;
- the broadcast bit set: broadcast;
- else unicast to chaddr and yiaddr (the client has no address yet, so no
  ARP: the frame is built with the client's MAC).

The options a server sends on every reply are encoded once (:class:`ReplyOptions`);
a reply is the fixed header, option 53, the server id, those (the ones the
client's option 55 names first, in its order: RFC 2132 9.8), option 61 echoed
(RFC 6842), option 82 echoed last (RFC 3046 2.2), END, and PAD to BOOTP's 300 bytes.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from . import (
    ACK,
    ADDRESS_LISTS,
    BOOTREPLY,
    BROADCAST_FLAG,
    BROADCAST_IP,
    BROADCAST_MAC,
    ETH_TYPE,
    ETH_TYPE_IPV4,
    FIXED_SIZES,
    FORCERENEW,
    FRAME_OPTIONS,
    IP_AT,
    IP_PROTO,
    IPPROTO_UDP,
    IPV4_NO_OPTIONS,
    MAGIC_COOKIE,
    NAK,
    ZERO_IP,
    bootp_header,
    ip_bytes,
    ip_text,
    ip_udp_frame,
    option_number,
    word_sum,
)
from .frames4 import Frame
from .messages4 import encode_option

MIN_BOOTP = 300   # RFC 1542 2.1: relays and old clients expect at least this
_HEAD = struct.Struct("!BBBBIHH4s4s4s4s")   # op .. giaddr
_LENGTHS = struct.Struct("!H2xH12xHHHH")   # IP total length, fragment; UDP ports, length, checksum
_ZERO4 = bytes(4)
_FROM_NOWHERE = bytes(4) + b"\xff\xff\xff\xff"   # IP source 0.0.0.0, destination 255.255.255.255
_NO_ADDRESSES = bytes(16)   # ciaddr, yiaddr, siaddr, giaddr all 0.0.0.0
_NOWHERE_TEXT = (ZERO_IP, BROADCAST_IP, ZERO_IP, ZERO_IP, ZERO_IP, ZERO_IP)   # those as text: ip_src .. giaddr
# A reply's fixed header: op .. flags, ciaddr, yiaddr, siaddr, giaddr, chaddr (padded); sname and file
# (192 bytes) are zero, so they add nothing to the checksum and are joined in as they are.
_REPLY_HEAD = struct.Struct("!BBBBIHH4s4s4s4s16s")
_SNAME_FILE = bytes(192)
_HEADER_LEN = _REPLY_HEAD.size + len(_SNAME_FILE)   # 236
# What an option must be for the fast reader, looked up once per option: a fixed
# size, a list of addresses (_LIST: 4, 8, ... bytes), or the careful reader's
# (_CAREFUL: overload and relay sub-options; 53 is read here once, so never twice).
_LIST, _CAREFUL = -4, -1
_RULES: dict[int, int] = {**{code: _LIST for code in ADDRESS_LISTS}, **FIXED_SIZES, 52: _CAREFUL, 82: _CAREFUL}


def read_request(raw: bytes, now: float = 0.0, pending: bool = False) -> Frame | None:
    """A BOOTREQUEST with nothing odd about it, as a Frame; None for anything
    else (let :func:`~.frames4.parse_frame` read it and say what is wrong).
    ``pending``: the UDP checksum is a local sender's, not finished yet (the
    socket said so): it is computed into the frame instead of checked."""
    n = len(raw)
    if n < FRAME_OPTIONS + 4 or raw[ETH_TYPE:ETH_TYPE + 2] != ETH_TYPE_IPV4 or raw[IP_AT] != IPV4_NO_OPTIONS \
            or raw[IP_PROTO] != IPPROTO_UDP:
        return None
    total, frag, sport, dport, ulen, csum = _LENGTHS.unpack_from(raw, 16)
    end = 34 + ulen
    if frag & 0x3FFF or total + 14 > n or dport != 67 or ulen != total - 20:
        return None
    # The cheap tests first, the checksum (a sum over the whole datagram) last: garbage is given up
    # on at its first wrong byte (a storm of it must cost little), a good request pays the same.
    op, htype, hlen, _hops, xid, _secs, flags, ci, yi, si, gi = _HEAD.unpack_from(raw, 42)
    if op != 1 or htype != 1 or hlen != 6 or raw[278:282] != MAGIC_COOKIE:
        return None
    options: dict[int, bytes] = {}
    i = FRAME_OPTIONS
    while i < end:
        code = raw[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        if i + 1 >= end:
            return None
        size = raw[i + 1]
        j = i + 2 + size
        if j > end or code in options:
            return None
        rule = _RULES.get(code)
        if rule is not None and (size != rule if rule >= 0 else rule == _CAREFUL or not size or size % 4):
            return None
        options[code] = raw[i + 2:j]
        i = j
    else:
        return None   # no END
    mt = options.pop(53, b"")
    if len(mt) != 1 or not 1 <= mt[0] <= 8 or raw[i + 1:end].strip(b"\0"):
        return None
    if pending or csum:
        # Addresses and UDP segment as one number: modulo 0xFFFF every 16-bit word
        # weighs 1, and a right checksum makes the whole sum (with proto and length) 0.
        value = word_sum(raw[26:end])
        if pending:   # the field holds a local sender's partial sum: the checksum is the rest, put in its place
            total = (value - csum + IPPROTO_UDP + ulen) % 0xFFFF
            raw = b"".join((raw[:40], (0xFFFF - total if total else 0xFFFF).to_bytes(2, "big"), raw[42:]))
        elif value != (-(IPPROTO_UDP + ulen)) % 0xFFFF:
            return None
    # Positional: Frame's fields in their order (keywords cost a third of the call; a test compares).
    if raw[26:34] == _FROM_NOWHERE and raw[54:70] == _NO_ADDRESSES:   # a client with no address yet: the usual
        src, dst, ci_, yi_, si_, gi_ = _NOWHERE_TEXT
    else:
        src, dst = ip_text(raw[26:30]), ip_text(raw[30:34])
        ci_, yi_, si_, gi_ = ip_text(ci), ip_text(yi), ip_text(si), ip_text(gi)
    return Frame(raw, now, [], raw[6:12], raw[0:6], src, dst, sport, dport, 1, xid, flags, raw[70:76],
                 ci_, yi_, si_, gi_, options, list(options), [mt[0]])


def quick_reject(raw: bytes) -> str | None:
    """The kind of a request a server ignores whatever else it holds, read from
    a few bytes, with no parse: cut before the options, not a BOOTREQUEST, a
    hardware address that is not 6 bytes, no magic cookie. None: read it
    carefully (:func:`~.frames4.parse_frame`), which answers a request that
    still says what it wants."""
    n = len(raw)
    if n < 50:
        return "cut before the xid"
    if raw[42] != 1:
        return "not a BOOTREQUEST (op)"
    if raw[44] != 6:
        return "hardware address not 6 bytes (hlen)"
    if n < FRAME_OPTIONS or raw[278:282] != MAGIC_COOKIE:
        return "no DHCP options (cut, or no magic cookie)"
    return None


@dataclass
class ReplyOptions:
    """The options of every reply, encoded once: ``lease`` (51, 58, 59) for
    OFFER and ACK, ``common`` (mask, router, DNS and the user's) for those and
    INFORM's ACK."""

    server_id: bytes
    lease: bytes
    common: bytes
    parts: dict[int, bytes] = field(default_factory=dict, repr=False)   # code -> the option as encoded
    _tails: dict[tuple[int, bool, bytes], tuple[bytes, int]] = field(default_factory=dict, repr=False)
    _heads: dict[tuple[int, bool, bytes], tuple[bytes, int]] = field(default_factory=dict, repr=False)
    _orders: dict[bytes, bytes] = field(default_factory=dict, repr=False)

    def common_for(self, prl: bytes | None) -> bytes:
        """The common options, those a parameter request list (option 55) names first and in its
        order (RFC 2132 9.8), then the rest; cached per list (a fleet asks with a few lists)."""
        if not prl or not self.parts:
            return self.common
        ordered = self._orders.get(prl)
        if ordered is None:
            asked = [code for code in dict.fromkeys(prl) if code in self.parts]
            ordered = b"".join([self.parts[c] for c in asked] + [p for c, p in self.parts.items() if c not in asked])
            if len(self._orders) < 256:
                self._orders[prl] = ordered
        return ordered

    def _head(self, msg_type: int, lease: bool, prl: bytes | None) -> tuple[bytes, int]:
        """Cookie, 53, 54 and the options in ``prl``'s order, with its sum; cached per kind and list."""
        key = (msg_type, lease, prl or b"")
        head = self._heads.get(key)
        if head is None:
            body = MAGIC_COOKIE + bytes((53, 1, msg_type)) + self.server_id
            if msg_type != NAK:
                body += (self.lease if lease else b"") + self.common_for(prl)
            head = (body, word_sum(body))
            if len(self._heads) < 1024:
                self._heads[key] = head
        return head

    def tail(self, msg_type: int, lease: bool = True, prl: bytes | None = None,
             extra: bytes = b"") -> tuple[bytes, int]:
        """What follows the fixed header of a reply of one kind with no option 82
        or message (cookie, 53, 54, the options in ``prl``'s order, ``extra``
        (option 61 echoed), END and the pad), with its sum for the UDP checksum
        (:func:`~.wire.word_sum`): the cached part's sum plus the rest's."""
        key = (msg_type, lease, prl or b"")
        tail = None if extra else self._tails.get(key)
        if tail is None:
            body, total = self._head(msg_type, lease, prl)
            rest = extra + b"\xff"
            rest += bytes(max(0, MIN_BOOTP - _HEADER_LEN - len(body) - len(rest)))
            # After a head of odd length the rest's first byte is the low half of a word.
            tail = (body + rest, total + word_sum((b"\0" if len(body) % 2 else b"") + rest))
            if not extra and len(self._tails) < 1024:
                self._tails[key] = tail
        return tail

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
        parts = {code: encode_option(code, value) for code, value in chosen.items()}
        common = b"".join(parts.values())
        lease = (b"\x33\x04" + struct.pack("!I", lease_time & 0xFFFFFFFF)
                 + b"\x3a\x04" + struct.pack("!I", t1 & 0xFFFFFFFF)
                 + b"\x3b\x04" + struct.pack("!I", t2 & 0xFFFFFFFF))
        return cls(b"\x36\x04" + ipaddress.IPv4Address(server_ip).packed, lease, common, parts)


def unsafe_destination(address: str, *, server_ip: str, network: ipaddress.IPv4Network) -> str | None:
    """Why a reply must never go to ``address`` (a request's giaddr or ciaddr),
    or None when it may: a broadcast (limited or the network's), multicast,
    loopback, the zero network, reserved (240.0.0.0/4) or the server's own."""
    try:
        n = int.from_bytes(ipaddress.IPv4Address(address).packed, "big")
    except ValueError:
        return "not an IPv4 address"
    if n == 0xFFFFFFFF:
        return "the limited broadcast address"
    if address == server_ip:
        return "the server's own address"
    if n == int(network.broadcast_address) and network.prefixlen < 31:
        return f"the broadcast address of {network}"
    top = n >> 24
    if top == 0:
        return "in the zero network 0.0.0.0/8"
    if top == 127:
        return "a loopback address"
    if 224 <= top < 240:
        return "a multicast address"
    if top >= 240:
        return "a reserved address (240.0.0.0/4)"
    return None


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
    head = _REPLY_HEAD.pack(BOOTREPLY, 1, 6, 0, request.xid or 0, 0, flags, _bytes(ciaddr),
                            _bytes(yiaddr if msg_type != NAK else ZERO_IP), _ZERO4, _bytes(request.giaddr),
                            request.chaddr)
    relay_info, client_id, prl = request.options.get(82), request.options.get(61), request.options.get(55)
    if relay_info is None and not message:   # RFC 6842 3: option 61 echoed unchanged, after the cached part
        tail, tail_sum = opts.tail(msg_type, lease, prl, b"" if client_id is None else _echo(61, client_id))
    else:
        body = bytearray(MAGIC_COOKIE + bytes((53, 1, msg_type)) + opts.server_id)
        if msg_type == NAK:
            if message:
                body += encode_option(56, message)
        else:
            if lease:
                body += opts.lease
            body += opts.common_for(prl)
        if client_id is not None:   # RFC 6842 3: echoed unchanged in OFFER, ACK and NAK
            body += _echo(61, client_id)
        if relay_info is not None:   # RFC 3046 2.2: echoed whole, in every reply
            body += encode_option(82, relay_info)
        body += b"\xff"
        if len(body) + _HEADER_LEN < MIN_BOOTP:
            body += bytes(MIN_BOOTP - _HEADER_LEN - len(body))
        tail = bytes(body)
        tail_sum = word_sum(tail)
    # The payload's sum from its parts: the header's 44 bytes and the tail's (at an even offset).
    return ip_udp_frame(head + _SNAME_FILE + tail, src_mac=server_mac, dst_mac=dst_mac, src_ip=server_ip,
                        dst_ip=dst_ip, sport=67, dport=dport, payload_sum=word_sum(head) + tail_sum)


def _echo(code: int, payload: bytes) -> bytes:
    """A request's option as it came (one instance: at most 255 bytes; longer, split as RFC 3396 says)."""
    return bytes((code, len(payload))) + payload if len(payload) <= 255 else encode_option(code, payload)


def _bytes(address: str) -> bytes:
    return _ZERO4 if address == ZERO_IP else ip_bytes(address)


def build_forcerenew(*, chaddr: bytes, address: str, opts: ReplyOptions, server_mac: bytes, server_ip: str,
                     xid: int) -> bytes:
    """RFC 3203: FORCERENEW, unicast to the client's address, with no authentication."""
    header = bootp_header(BOOTREPLY, xid, chaddr, ciaddr=address)
    body = bytearray(header + MAGIC_COOKIE + bytes((53, 1, FORCERENEW)) + opts.server_id + b"\xff")
    body += bytes(max(0, MIN_BOOTP - len(body)))
    return ip_udp_frame(bytes(body), src_mac=server_mac, dst_mac=chaddr, src_ip=server_ip, dst_ip=address,
                        sport=67, dport=68)
