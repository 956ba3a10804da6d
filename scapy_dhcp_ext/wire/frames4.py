"""Read frames defensively: an Ethernet frame that may hold a DHCP message.

``parse_frame`` never raises on bad bytes: whatever is wrong goes into
``Frame.problems``, in words ("option 54 has length 5 (expected 4)"). The work
is bounded (at most MAX_OPTION_ITEMS options an area), and Scapy's dissection
happens only when someone looks at ``.packet``.

RFCs: 2131, 2132 (options), 3046 (option 82), 3396 (long options), 3397 and
1035 (names in option 119), 4702 (option 81), 3442 (option 121).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from . import (
    ACK,
    ADDRESS_LISTS,
    BOOTP_FIXED,
    BOOTP_HEADER,
    CLIENT_PORT,
    ETH_DST,
    ETH_HLEN,
    ETH_SRC,
    ETH_TYPE,
    ETH_TYPE_IPV6,
    FIXED_SIZES,
    IP_HLEN,
    IP_MF,
    IP_OFFSET_MASK,
    IPPROTO_UDP,
    IPV4_HEADER,
    MAGIC_COOKIE,
    MESSAGE_TYPES,
    OFFER,
    SERVER_PORT,
    TEXT_OPTIONS,
    UDP_HEADER,
    UDP_HLEN,
    ZERO_IP,
    Bootp,
    Options,
    ip_str,
    read_options,
    udp_checksum,
)


@dataclass
class Frame:
    """A received (or sent) frame, read defensively: never raises on bad bytes.

    ``problems`` lists what is malformed, in words. ``options`` maps each option
    code to its payload (repeated instances concatenated, RFC 3396)."""

    raw: bytes
    time: float = 0.0
    problems: list[str] = field(default_factory=list)
    eth_src: bytes = b""
    eth_dst: bytes = b""
    ip_src: str | None = None
    ip_dst: str | None = None
    sport: int | None = None
    dport: int | None = None
    op: int | None = None
    xid: int | None = None
    flags: int = 0
    chaddr: bytes = b""
    ciaddr: str = ZERO_IP
    yiaddr: str = ZERO_IP
    siaddr: str = ZERO_IP
    giaddr: str = ZERO_IP
    options: dict[int, bytes] = field(default_factory=dict)
    option_order: list[int] = field(default_factory=list)
    message_types: list[int] = field(default_factory=list)

    @property
    def is_dhcp(self) -> bool:
        return self.xid is not None

    @property
    def message_type(self) -> int | None:
        return self.message_types[0] if self.message_types else None

    @property
    def type_name(self) -> str:
        mt = self.message_type
        if mt is None:
            return "BOOTP" if self.is_dhcp else "non-DHCP"
        return MESSAGE_TYPES.get(mt, f"type {mt}")

    @property
    def malformed(self) -> bool:
        return bool(self.problems)

    def _addr(self, code: int) -> str | None:
        v = self.options.get(code)
        return ip_str(v[:4]) if v is not None and len(v) >= 4 else None

    @property
    def requested(self) -> str | None:   # option 50, the address the client asks for
        return self._addr(50)

    def _u32(self, code: int) -> int | None:
        v = self.options.get(code)
        return struct.unpack("!I", v[:4])[0] if v is not None and len(v) >= 4 else None

    def _addrs(self, code: int) -> list[str]:
        v = self.options.get(code, b"")
        return [ip_str(v[i:i + 4]) for i in range(0, len(v) - len(v) % 4, 4)]

    def _text(self, code: int) -> str | None:
        v = self.options.get(code)
        return v.decode("utf-8", "backslashreplace") if v is not None else None

    @property
    def server_id(self) -> str | None:
        return self._addr(54)

    @property
    def lease_time(self) -> int | None:
        return self._u32(51)

    @property
    def t1(self) -> int | None:
        return self._u32(58)

    @property
    def t2(self) -> int | None:
        return self._u32(59)

    @property
    def subnet_mask(self) -> str | None:
        return self._addr(1)

    @property
    def routers(self) -> list[str]:
        return self._addrs(3)

    @property
    def dns_servers(self) -> list[str]:
        return self._addrs(6)

    @property
    def domain(self) -> str | None:
        return self._text(15)

    @property
    def message(self) -> str | None:
        return self._text(56)

    @property
    def server(self) -> str | None:
        """Who answered: option 54, else the IP source."""
        return self.server_id or self.ip_src

    @cached_property
    def packet(self) -> Any:
        """The frame as a Scapy packet, dissected on first use. Bytes Scapy
        cannot dissect come back as ``Raw``, never as an exception."""
        import scapy.layers.dhcp  # noqa: F401  (binds Ether / IP / UDP / BOOTP / DHCP)
        from scapy.layers.l2 import Ether
        from scapy.packet import Raw

        try:
            return Ether(self.raw)
        except Exception as exc:  # any dissector bug must not reach the user
            self.problems.append(f"Scapy could not dissect it: {exc}")
            return Raw(self.raw)

    def summary(self) -> str:
        parts = [self.type_name]
        if self.is_dhcp and self.op == 1:
            requested = self._addr(50)
            if requested or self.ciaddr != ZERO_IP:
                parts.append(requested or self.ciaddr)
            if self.server_id:
                parts.append(f"to {self.server_id}")
            if self.giaddr != ZERO_IP:
                parts.append(f"via relay {self.giaddr}")
        elif self.is_dhcp:
            if self.yiaddr != ZERO_IP:
                parts.append(self.yiaddr)
            if self.server:
                parts.append(f"from {self.server}")
        if self.is_dhcp and self.message:
            parts.append(f"({self.message!r})")
        if self.problems:
            parts.append("malformed: " + "; ".join(self.problems))
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"<Frame {self.summary()}>"


def _check_options(frame: Frame, found: Options) -> None:
    frame.option_order = found.order
    frame.problems += found.problems
    if 52 in found.chunks and len(found.chunks[52]) > 1:
        frame.problems.append("option 52 (overload) appears more than once")
    if found.overload > 3:
        frame.problems.append(f"option 52 has value {found.overload} (expected 1, 2 or 3)")
    for code, parts in found.chunks.items():
        if code == 53:
            if any(len(p) != 1 for p in parts):
                frame.problems.append(f"option 53 has length {len(parts[0])} (expected 1)")
            types = [p[0] for p in parts if p]
            frame.message_types = types
            if len(set(types)) > 1:
                names = ", ".join(MESSAGE_TYPES.get(t, str(t)) for t in types)
                frame.problems.append(f"conflicting message types: {names}")
            elif len(types) > 1:
                frame.problems.append("option 53 appears more than once")
            continue
        value = b"".join(parts)
        frame.options[code] = value
        want = FIXED_SIZES.get(code)
        if want is not None and len(value) != want:
            frame.problems.append(f"option {code} has length {len(value)} (expected {want})")
        elif code in ADDRESS_LISTS and (len(value) == 0 or len(value) % 4):
            frame.problems.append(f"option {code} has length {len(value)} (expected a multiple of 4)")
    mt = frame.message_type
    if mt is not None and mt not in MESSAGE_TYPES:
        frame.problems.append(f"unknown message type {mt}")


SHELL_CHARS = set(b"$`;|&<>\\\"'(){}")


def _dns_names(data: bytes) -> str | None:
    """Walks RFC 1035 names (with compression) in ``data``; a problem or None."""
    i, n = 0, len(data)
    while i < n:
        pos, jumps = i, 0
        while True:
            if pos >= n:
                return "a name runs past the option"
            length = data[pos]
            if length == 0:
                pos += 1
                break
            if length & 0xC0 == 0xC0:
                if pos + 1 >= n:
                    return "a compression pointer is cut off"
                jumps += 1
                if jumps > 64:
                    return "a compression-pointer loop"
                target = ((length & 0x3F) << 8) | data[pos + 1]
                if target >= n:
                    return f"a compression pointer to {target}, past the option"
                if jumps == 1:
                    i = pos + 2
                pos = target
                continue
            if length & 0xC0:
                return f"a label length byte {length:#04x}"
            pos += 1 + length
        if jumps == 0:
            i = pos
    return None


def _check_values(frame: Frame) -> None:
    """What a well-formed reply can still get wrong: values that make no sense."""
    o = frame.options
    if frame.op == 2 and frame.message_type in (OFFER, ACK) and frame.yiaddr in ("255.255.255.255",):
        frame.problems.append(f"yiaddr {frame.yiaddr} (broadcast)")
    lease, t1, t2 = frame.lease_time, frame.t1, frame.t2
    if lease == 0 and frame.message_type in (OFFER, ACK):
        frame.problems.append("lease time 0")
    if t1 is not None and t2 is not None and t1 > t2:
        frame.problems.append(f"T1 {t1} is after T2 {t2}")
    if t2 is not None and lease is not None and t2 > lease and lease != 0xFFFFFFFF:
        frame.problems.append(f"T2 {t2} is after the lease ends ({lease})")
    for code, label in TEXT_OPTIONS.items():
        value = o.get(code)
        if not value:
            continue
        if b"\0" in value.rstrip(b"\0"):
            frame.problems.append(f"option {code} ({label}) contains NUL")
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            frame.problems.append(f"option {code} ({label}) is not UTF-8")
        if SHELL_CHARS & set(value):
            frame.problems.append(f"option {code} ({label}) contains shell metacharacters")
    if 121 in o:
        routes, i = o[121], 0
        while i < len(routes):
            prefix = routes[i]
            if prefix > 32:
                frame.problems.append(f"option 121 has a route with prefix /{prefix} (over 32)")
                break
            i += 1 + (prefix + 7) // 8 + 4
            if i > len(routes):
                frame.problems.append("option 121 ends inside a route")
    if 119 in o and (why := _dns_names(o[119])):
        frame.problems.append(f"option 119 (domain search): {why}")
    if 81 in o and len(o[81]) >= 3 and o[81][0] & 0x04 and (why := _dns_names(o[81][3:])):
        frame.problems.append(f"option 81 (client FQDN): {why}")
    if 82 in o:
        sub, i = o[82], 0
        while i < len(sub):
            if i + 1 >= len(sub) or i + 2 + sub[i + 1] > len(sub):
                frame.problems.append(f"option 82 sub-option {sub[i]} runs past the option")
                break
            i += 2 + sub[i + 1]


def _read_bootp(data: bytes, frame: Frame) -> None:
    if len(data) < BOOTP_FIXED:
        frame.problems.append(f"BOOTP part is {len(data)} bytes (shorter than the {BOOTP_FIXED}-byte header)")
        if len(data) >= Bootp.SECS:
            frame.op = data[Bootp.OP]
            frame.xid = struct.unpack_from("!I", data, Bootp.XID)[0]
        if len(data) >= Bootp.CHADDR + 6:
            frame.chaddr = data[Bootp.CHADDR:Bootp.CHADDR + 6]
        return
    (frame.op, htype, hlen, _hops, frame.xid, _secs, frame.flags, ci, yi, si, gi,
     chaddr, _sname, _file) = BOOTP_HEADER.unpack_from(data)
    frame.ciaddr, frame.yiaddr, frame.siaddr, frame.giaddr = (ip_str(a) for a in (ci, yi, si, gi))
    if hlen != 6 or htype != 1:
        frame.problems.append(f"htype {htype} hlen {hlen} (expected Ethernet: 1, 6)")
    frame.chaddr = chaddr[:6]
    if data[BOOTP_FIXED:BOOTP_FIXED + 4] != MAGIC_COOKIE:
        if len(data) > BOOTP_FIXED:
            frame.problems.append(f"bad magic cookie {data[BOOTP_FIXED:BOOTP_FIXED + 4].hex()}")
        else:
            frame.problems.append("no magic cookie (plain BOOTP)")
        return
    _check_options(frame, read_options(data))
    if frame.op == 2:
        _check_values(frame)


def parse_any(raw: bytes, t: float = 0.0) -> Any:
    """A DHCPv4 :class:`Frame`, or for an IPv6 frame a
    :class:`~scapy_dhcp_ext.wire.frames6.Frame6` (both have ``summary()``,
    ``packet``, ``problems``): the history and results hold both."""
    if raw[ETH_TYPE:ETH_TYPE + 2] == ETH_TYPE_IPV6:
        from .frames6 import parse_frame6

        return parse_frame6(raw, t)
    return parse_frame(raw, t)


def parse_frame(raw: bytes, time: float = 0.0) -> Frame:
    """Reads an Ethernet frame that may hold a DHCP message. Never raises:
    whatever is wrong goes into ``.problems``."""
    frame = Frame(raw=bytes(raw), time=time)
    if len(raw) < ETH_HLEN:
        frame.problems.append(f"frame is {len(raw)} bytes (shorter than an Ethernet header)")
        return frame
    frame.eth_dst, frame.eth_src = raw[ETH_DST:ETH_SRC], raw[ETH_SRC:ETH_TYPE]
    if raw[ETH_TYPE:ETH_HLEN] != b"\x08\x00":
        return frame
    ip = raw[ETH_HLEN:]
    if len(ip) < IP_HLEN:
        frame.problems.append(f"IP header cut off at {len(ip)} bytes")
        return frame
    ver_ihl, _tos, total, _id, frag, _ttl, proto, _sum, src, dst = IPV4_HEADER.unpack_from(ip)
    ihl = (ver_ihl & 0x0F) * 4
    frame.ip_src, frame.ip_dst = ip_str(src), ip_str(dst)
    if proto != IPPROTO_UDP:
        return frame
    if ihl < IP_HLEN or len(ip) < ihl + UDP_HLEN:
        frame.problems.append(f"IP header length {ihl} leaves no room for UDP")
        return frame
    if frag & IP_OFFSET_MASK:
        frame.problems.append("a later IP fragment (not reassembled)")
        return frame
    if frag & IP_MF:
        frame.problems.append("first IP fragment only (not reassembled)")
    if total > len(ip):
        frame.problems.append(f"IP total length {total} is more than the {len(ip)} bytes received")
    elif total < ihl + UDP_HLEN:
        frame.problems.append(f"IP total length {total} is shorter than its headers")
    udp = ip[ihl:]
    frame.sport, frame.dport, ulen, udp_sum = UDP_HEADER.unpack_from(udp)
    in_ip = min(len(udp), max(total - ihl, 0)) if not frag & IP_MF else len(udp)  # less Ethernet padding
    if ulen > len(udp):
        frame.problems.append(f"UDP length {ulen} is more than the {len(udp)} bytes received")
    elif ulen < UDP_HLEN:
        frame.problems.append(f"UDP length {ulen} is shorter than its header")
    elif ulen < in_ip:
        frame.problems.append(f"UDP length {ulen} is less than the {in_ip} bytes the IP packet carries")
    elif ulen > in_ip:
        frame.problems.append(f"UDP length {ulen} is more than the {in_ip} bytes the IP packet carries")
    else:
        udp = udp[:ulen]
        if udp_sum and not frag & IP_MF:
            want = udp_checksum(src, dst, udp)
            if want != udp_sum:
                frame.problems.append(f"bad UDP checksum {udp_sum:#06x} (expected {want:#06x})")
    if {frame.sport, frame.dport} & {CLIENT_PORT, SERVER_PORT}:
        _read_bootp(udp[UDP_HLEN:], frame)
    return frame
