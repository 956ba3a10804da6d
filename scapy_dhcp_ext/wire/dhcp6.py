"""DHCPv6 on the wire, written once: the tables, the option walker, IPv6 and
ICMPv6 framing, DUIDs, EUI-64 link-local addresses. Pure code, no sockets.

RFCs: 8415 (DHCPv6: messages 7.3, options 21, DUIDs 11, transmission 7.6 and
15), 8200 (IPv6, checksum pseudo-header 8.1), 4291 (link-local and
solicited-node addresses, EUI-64), 2464 (IPv6 multicast over Ethernet), 4861
(neighbour discovery), 4443 (ICMPv6), 3646 (DNS options), 4649 (remote-id).

Usage::

    >>> walk6(options_bytes)              # (items, problems): never raises
    >>> link_local("02:00:00:00:00:01")   # 'fe80::ff:fe00:1'
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from typing import Any

from .layout import ETH_TYPE, ETH_TYPE_IPV6, checksum, mac_bytes, udp_checksum, word_sum

ETHERTYPE_IPV6 = ETH_TYPE_IPV6   # bytes, as the fast paths compare them
IP6_AT = 14
IP6_HLEN = 40
IP6_NH = IP6_AT + 6          # next header
IP6_SRC = IP6_AT + 8
IP6_DST = IP6_AT + 24
UDP6_AT = IP6_AT + IP6_HLEN  # 54
ICMP6_AT = UDP6_AT           # an ICMPv6 header sits where UDP's would: its type byte
ND_SOLICIT, ND_ADVERT = 135, 136
DHCP6_AT = UDP6_AT + 8       # 62
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
CLIENT_PORT6 = 546
SERVER_PORT6 = 547
ALL_SERVERS = "ff02::1:2"    # All_DHCP_Relay_Agents_and_Servers

SOLICIT, ADVERTISE, REQUEST, CONFIRM, RENEW, REBIND, REPLY, RELEASE, DECLINE, RECONFIGURE, \
    INFORMATION_REQUEST, RELAY_FORW, RELAY_REPL = range(1, 14)
MESSAGE_TYPES6 = {1: "SOLICIT", 2: "ADVERTISE", 3: "REQUEST", 4: "CONFIRM", 5: "RENEW", 6: "REBIND",
                  7: "REPLY", 8: "RELEASE", 9: "DECLINE", 10: "RECONFIGURE", 11: "INFORMATION-REQUEST",
                  12: "RELAY-FORW", 13: "RELAY-REPL"}
REPLY_TYPES6 = (ADVERTISE, REPLY, RECONFIGURE)

# Option codes (RFC 8415 21 and the ones a CPE asks for), by the names a user types.
OPTION_CODES6: dict[str, int] = {
    "client_id": 1, "server_id": 2, "ia_na": 3, "ia_ta": 4, "iaaddr": 5, "oro": 6, "preference": 7,
    "elapsed_time": 8, "relay_msg": 9, "auth": 11, "unicast": 12, "status_code": 13, "rapid_commit": 14,
    "user_class": 15, "vendor_class": 16, "vendor_opts": 17, "interface_id": 18, "reconf_msg": 19,
    "reconf_accept": 20, "sip_domains": 21, "sip_servers": 22, "dns_servers": 23, "domain_list": 24,
    "ia_pd": 25, "iaprefix": 26, "nis_servers": 27, "sntp_servers": 31, "information_refresh_time": 32,
    "remote_id": 37, "subscriber_id": 38, "client_fqdn": 39, "ntp_server": 56, "sol_max_rt": 82,
    "inf_max_rt": 83,
}
OPTION_NAMES6 = {code: name for name, code in OPTION_CODES6.items()}
CLIENTID, SERVERID, IA_NA, IA_TA, IAADDR, ORO, PREFERENCE, ELAPSED_TIME, RELAY_MSG = 1, 2, 3, 4, 5, 6, 7, 8, 9
STATUS_CODE, RAPID_COMMIT, USER_CLASS, VENDOR_CLASS, INTERFACE_ID = 13, 14, 15, 16, 18
DNS_SERVERS, DOMAIN_LIST, IA_PD, IAPREFIX, REMOTE_ID, INF_REFRESH = 23, 24, 25, 26, 37, 32
# The size an option must have, where it is fixed (RFC 8415 21).
FIXED_SIZES6 = {ELAPSED_TIME: 2, PREFERENCE: 1, RAPID_COMMIT: 0, INF_REFRESH: 4, 82: 4, 83: 4, 20: 0, 19: 1}
MIN_SIZES6 = {IA_NA: 12, IA_TA: 4, IA_PD: 12, IAADDR: 24, IAPREFIX: 25, STATUS_CODE: 2, 12: 16,
              CLIENTID: 2, SERVERID: 2}
# Options that hold options of their own after a fixed part (RFC 8415 21.4, 21.6, 21.21, 21.22).
NESTED6 = {IA_NA: 12, IA_TA: 4, IA_PD: 12, IAADDR: 24, IAPREFIX: 25}

STATUS6 = {0: "Success", 1: "UnspecFail", 2: "NoAddrsAvail", 3: "NoBinding", 4: "NotOnLink",
           5: "UseMulticast", 6: "NoPrefixAvail"}

DUID_LLT, DUID_EN, DUID_LL, DUID_UUID = 1, 2, 3, 4
DUID_EPOCH = 946684800     # 2000-01-01 00:00 UTC: DUID-LLT counts from it (RFC 8415 11.2)
MAX_DUID = 130             # RFC 8415 11.1: at most 128 bytes after the 2-byte type
MAX_ITEMS6 = 512           # options read per area: a flood is cut short, in words
MAX_DEPTH6 = 32            # relay nesting (RFC 8415 19.1: HOP_COUNT_LIMIT)

# RFC 8415 7.6: (initial, maximum retransmission time, maximum count, maximum duration), seconds.
TRANSMISSION6 = {
    "SOLICIT": (1.0, 3600.0, 0, 0.0), "REQUEST": (1.0, 30.0, 10, 0.0), "CONFIRM": (1.0, 4.0, 0, 10.0),
    "RENEW": (10.0, 600.0, 0, 0.0), "REBIND": (10.0, 600.0, 0, 0.0), "INFORMATION-REQUEST": (1.0, 3600.0, 0, 0.0),
    "RELEASE": (1.0, 0.0, 4, 0.0), "DECLINE": (1.0, 0.0, 4, 0.0),
}


# --- addresses ----------------------------------------------------------------

def ip6_bytes(address: Any) -> bytes:
    return socket.inet_pton(socket.AF_INET6, str(address or "::"))


def ip6_str(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6, bytes(raw))


def link_local(mac: str | bytes) -> str:
    """The EUI-64 link-local address of a MAC (RFC 4291 2.5.1, appendix A)."""
    m = mac_bytes(mac)
    iid = bytes([m[0] ^ 0x02]) + m[1:3] + b"\xff\xfe" + m[3:6]
    return ip6_str(b"\xfe\x80" + b"\0" * 6 + iid)


def solicited_node(address: str) -> str:
    """ff02::1:ffXX:XXXX, where a neighbour solicitation for ``address`` goes (RFC 4291 2.7.1)."""
    return ip6_str(b"\xff\x02" + b"\0" * 9 + b"\x01\xff" + ip6_bytes(address)[13:])


def multicast_mac(address: str) -> bytes:
    """33:33 and the group's last four bytes (RFC 2464 7)."""
    return b"\x33\x33" + ip6_bytes(address)[12:]


def prefix_text(address: bytes, length: int) -> str:
    return f"{ip6_str(address)}/{length}"


# --- DUIDs ----------------------------------------------------------------------

def duid_ll(mac: str | bytes) -> bytes:
    return struct.pack("!HH", DUID_LL, 1) + mac_bytes(mac)


def duid_llt(mac: str | bytes, when: float) -> bytes:
    return struct.pack("!HHI", DUID_LLT, 1, max(0, int(when) - DUID_EPOCH) & 0xFFFFFFFF) + mac_bytes(mac)


def duid_en(enterprise: int, identifier: bytes) -> bytes:
    return struct.pack("!HI", DUID_EN, enterprise) + bytes(identifier)


def duid_uuid(uuid: bytes) -> bytes:
    if len(uuid) != 16:
        raise ValueError(f"a DUID-UUID holds 16 bytes, not {len(uuid)}")
    return struct.pack("!H", DUID_UUID) + bytes(uuid)


def describe_duid(duid: bytes) -> str:
    """A DUID in words: ``LL 02:00:00:00:00:01``, ``EN 2495:0a0b``, or hex."""
    if len(duid) < 2:
        return duid.hex() or "(empty)"
    kind = struct.unpack_from("!H", duid)[0]
    body = duid[2:]
    if kind == DUID_LL and len(body) >= 2:
        return "LL " + ":".join(f"{b:02x}" for b in body[2:])
    if kind == DUID_LLT and len(body) >= 6:
        return "LLT " + ":".join(f"{b:02x}" for b in body[6:])
    if kind == DUID_EN and len(body) >= 4:
        return f"EN {struct.unpack_from('!I', body)[0]}:{body[4:].hex()}"
    if kind == DUID_UUID:
        return "UUID " + body.hex()
    return duid.hex()


# --- options --------------------------------------------------------------------

def option6(code: int, payload: bytes = b"") -> bytes:
    return struct.pack("!HH", code, len(payload) & 0xFFFF) + payload


def walk6(data: bytes, start: int = 0, end: int | None = None) -> tuple[list[tuple[int, int, bytes]], list[str]]:
    """The options in ``data[start:end]`` as ``(offset, code, payload)``, and what
    is wrong with them in words. Never raises; stops at the first option that
    runs past the end, and after MAX_ITEMS6 options."""
    end = len(data) if end is None else min(end, len(data))
    items: list[tuple[int, int, bytes]] = []
    problems: list[str] = []
    at = start
    while at < end:
        if len(items) >= MAX_ITEMS6:
            problems.append(f"more than {MAX_ITEMS6} options: the rest not read")
            break
        if end - at < 4:
            problems.append(f"{end - at} stray byte(s) at offset {at}: not an option header")
            break
        code, length = struct.unpack_from("!HH", data, at)
        if at + 4 + length > end:
            problems.append(f"option {code} ({OPTION_NAMES6.get(code, 'unknown')}) says {length} bytes, "
                            f"{end - at - 4} remain")
            items.append((at, code, bytes(data[at + 4:end])))
            break
        items.append((at, code, bytes(data[at + 4:at + 4 + length])))
        at += 4 + length
    return items, problems


def option_bytes6(name_or_code: str | int, value: Any) -> bytes:
    """One option from a user's words: ``("dns_servers", ["fd77:1::1"])``,
    ``(23, b"...")`` (raw payload), ``("user_class", b"lab")``. Raises ValueError
    with what was wrong."""
    code = _code(name_or_code)
    if isinstance(value, (bytes, bytearray)):
        return option6(code, bytes(value))
    if code in (DNS_SERVERS, 22, 27, 31):
        items = value if isinstance(value, (list, tuple)) else [value]
        return option6(code, b"".join(ip6_bytes(a) for a in items))
    if code == ORO:
        return option6(code, b"".join(struct.pack("!H", _code(c)) for c in value))
    if code in (ELAPSED_TIME,):
        return option6(code, struct.pack("!H", int(value)))
    if code in (INF_REFRESH, 82, 83):
        return option6(code, struct.pack("!I", int(value)))
    if code == PREFERENCE:
        return option6(code, bytes([int(value)]))
    if code in (RAPID_COMMIT, 20):
        return option6(code)
    if code in (USER_CLASS,):
        items = value if isinstance(value, (list, tuple)) else [value]
        return option6(code, b"".join(struct.pack("!H", len(v)) + _b(v) for v in items))
    if code == VENDOR_CLASS:
        enterprise, *data = value if isinstance(value, (list, tuple)) else (0, value)
        return option6(code, struct.pack("!I", int(enterprise))
                       + b"".join(struct.pack("!H", len(_b(v))) + _b(v) for v in data))
    if code == DOMAIN_LIST:
        items = value if isinstance(value, (list, tuple)) else [value]
        return option6(code, b"".join(dns_name(n) for n in items))
    if isinstance(value, str):
        return option6(code, value.encode())
    if isinstance(value, int):
        return option6(code, struct.pack("!I", value))
    raise ValueError(f"option {name_or_code!r}: give its payload as bytes")


def _b(v: Any) -> bytes:
    return v.encode() if isinstance(v, str) else bytes(v)


def _code(name_or_code: str | int) -> int:
    if isinstance(name_or_code, int):
        if not 0 <= name_or_code <= 0xFFFF:
            raise ValueError(f"option code {name_or_code} is not 0..65535")
        return name_or_code
    key = str(name_or_code).lower().replace("-", "_")
    if key.isdigit():
        return _code(int(key))
    if key not in OPTION_CODES6:
        raise ValueError(f"unknown DHCPv6 option {name_or_code!r}: give a code, or one of "
                         + ", ".join(sorted(OPTION_CODES6)))
    return OPTION_CODES6[key]


def dns_name(name: str) -> bytes:
    """A name in DNS wire format (RFC 1035 3.1), as option 24 carries it."""
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_dns_names(data: bytes) -> list[str]:
    """Names in DNS wire format, uncompressed; what does not parse ends the list."""
    names: list[str] = []
    labels: list[str] = []
    at = 0
    while at < len(data):
        n = data[at]
        if n == 0:
            names.append(".".join(labels))
            labels, at = [], at + 1
            continue
        if n > 63 or at + 1 + n > len(data):
            break
        labels.append(data[at + 1:at + 1 + n].decode("ascii", "replace"))
        at += 1 + n
    return names


def ia(code: int, iaid: int, t1: int = 0, t2: int = 0, inner: bytes = b"") -> bytes:
    """An IA_NA or IA_PD option (RFC 8415 21.4, 21.21)."""
    return option6(code, struct.pack("!III", iaid, t1, t2) + inner)


def iaaddr(address: str, preferred: int = 0, valid: int = 0, inner: bytes = b"") -> bytes:
    return option6(IAADDR, ip6_bytes(address) + struct.pack("!II", preferred, valid) + inner)


def iaprefix(prefix: str, preferred: int = 0, valid: int = 0, inner: bytes = b"") -> bytes:
    net = ipaddress.IPv6Network(prefix, strict=False)
    return option6(IAPREFIX, struct.pack("!IIB", preferred, valid, net.prefixlen)
                   + net.network_address.packed + inner)


def status_option(code: int, message: str | bytes = b"") -> bytes:
    return option6(STATUS_CODE, struct.pack("!H", code) + (message.encode() if isinstance(message, str) else message))


# --- frames ---------------------------------------------------------------------

_IP6_FIXED = struct.Struct("!IHBB")
_UDP_HEADER = struct.Struct("!HHHH")


def ip6_header(payload_len: int, next_header: int, src: bytes, dst: bytes, hop_limit: int = 1) -> bytes:
    return struct.pack("!IHBB", 6 << 28, payload_len & 0xFFFF, next_header, hop_limit) + src + dst


def udp6_frame(payload: bytes, *, src_mac: bytes, dst_mac: bytes, src: str | bytes, dst: str | bytes,
               sport: int = CLIENT_PORT6, dport: int = SERVER_PORT6, hop_limit: int = 1) -> bytes:
    """Ethernet + IPv6 + UDP around ``payload``, lengths and checksum computed; ``src`` and
    ``dst`` as text or as their 16 bytes (a server's hot path has them so)."""
    s = src if isinstance(src, bytes) and len(src) == 16 else ip6_bytes(src)
    d = dst if isinstance(dst, bytes) and len(dst) == 16 else ip6_bytes(dst)
    n = 8 + len(payload)
    # the checksum from its parts (modulo 0xFFFF every 16-bit word weighs 1; the payload starts at
    # an even offset): no UDP segment built twice
    total = (word_sum(payload) + int.from_bytes(s, "big") + int.from_bytes(d, "big") + IPPROTO_UDP
             + 2 * n + (sport << 16) + dport) % 0xFFFF
    return b"".join((dst_mac, src_mac, ETHERTYPE_IPV6, _IP6_FIXED.pack(6 << 28, n & 0xFFFF, IPPROTO_UDP, hop_limit),
                     s, d, _UDP_HEADER.pack(sport, dport, n, 0xFFFF - total if total else 0xFFFF), payload))


def icmp6_frame(icmp: bytes, *, src_mac: bytes, dst_mac: bytes, src: str, dst: str, hop_limit: int = 255) -> bytes:
    """An ICMPv6 message (checksum field zero in ``icmp``) in an Ethernet frame, checksum computed."""
    s, d = ip6_bytes(src), ip6_bytes(dst)
    pseudo = s + d + struct.pack("!IxxxB", len(icmp), IPPROTO_ICMPV6)
    icmp = icmp[:2] + struct.pack("!H", checksum(pseudo + icmp[:2] + b"\0\0" + icmp[4:])) + icmp[4:]
    return dst_mac + src_mac + ETHERTYPE_IPV6 + ip6_header(len(icmp), IPPROTO_ICMPV6, s, d, hop_limit) + icmp


def neighbour_advert(*, mac: bytes, target: bytes, to_mac: bytes, to: bytes) -> bytes:
    """A neighbour advertisement for ``target`` with our MAC (RFC 4861 4.4): solicited (S and O set) to
    a unicast address; to all nodes (the answer to a DAD probe, RFC 4861 7.2.4) with S clear, or
    a receiver drops it (Linux does: "solicited NA is multicasted")."""
    flags = 0x20000000 if to[0] == 0xFF else 0x60000000
    icmp = struct.pack("!BBHI", ND_ADVERT, 0, 0, flags) + target + b"\x02\x01" + mac
    return icmp6_frame(icmp, src_mac=mac, dst_mac=to_mac, src=ip6_str(target), dst=ip6_str(to))


def neighbour_solicit(*, mac: bytes, src: str, target: str) -> bytes:
    """A neighbour solicitation for ``target`` (RFC 4861 4.3): a v6 liveness probe."""
    icmp = struct.pack("!BBHI", ND_SOLICIT, 0, 0, 0) + ip6_bytes(target) + b"\x01\x01" + mac
    group = solicited_node(target)
    return icmp6_frame(icmp, src_mac=mac, dst_mac=multicast_mac(group), src=src, dst=group)


def neighbour_solicited(raw: bytes) -> bytes | None:
    """The target of a neighbour solicitation in ``raw``, or None."""
    if len(raw) < ICMP6_AT + 24 or raw[ETH_TYPE:ETH_TYPE + 2] != ETHERTYPE_IPV6 or raw[IP6_NH] != IPPROTO_ICMPV6 \
            or raw[ICMP6_AT] != ND_SOLICIT:
        return None
    return bytes(raw[UDP6_AT + 8:UDP6_AT + 24])


def is_neighbour_advert_for(raw: bytes, target: bytes) -> bool:
    return (len(raw) >= UDP6_AT + 24 and raw[ETH_TYPE:ETH_TYPE + 2] == ETHERTYPE_IPV6 and raw[IP6_NH] == IPPROTO_ICMPV6
            and raw[ICMP6_AT] == ND_ADVERT and raw[UDP6_AT + 8:UDP6_AT + 24] == target)


def finish_udp6_checksum(raw: bytes) -> bytes:
    """The frame with its UDP checksum computed (veth hands packet sockets it unfinished)."""
    if len(raw) < DHCP6_AT or raw[ETH_TYPE:ETH_TYPE + 2] != ETHERTYPE_IPV6 or raw[IP6_NH] != IPPROTO_UDP:
        return raw
    ulen = struct.unpack_from("!H", raw, UDP6_AT + 4)[0]
    if ulen < 8 or UDP6_AT + ulen > len(raw):
        return raw
    csum = udp_checksum(raw[IP6_SRC:IP6_SRC + 16], raw[IP6_DST:IP6_DST + 16], raw[UDP6_AT:UDP6_AT + ulen])
    return raw[:UDP6_AT + 6] + struct.pack("!H", csum) + raw[UDP6_AT + 8:]


def patch_checksum6(frame: bytearray) -> None:
    """Recomputes the UDP checksum of an IPv6 frame in place, from its lengths as
    they are (a lying UDP length gets a checksum over what it claims, cut to the frame)."""
    ulen = struct.unpack_from("!H", frame, UDP6_AT + 4)[0]
    end = min(len(frame), UDP6_AT + max(8, ulen))
    frame[UDP6_AT + 6:UDP6_AT + 8] = b"\0\0"
    csum = udp_checksum(bytes(frame[IP6_SRC:IP6_SRC + 16]), bytes(frame[IP6_DST:IP6_DST + 16]),
                        bytes(frame[UDP6_AT:end]))
    struct.pack_into("!H", frame, UDP6_AT + 6, csum)


# tcpdump -dd 'ip6 and (icmp6 or ip6[6] == 44 or (udp and (dst port 546 or dst port 547 or src port 547)))',
# without other extension headers (DHCPv6 and neighbour discovery carry none); fragments of any datagram.
DHCP6_FILTER = [
    (0x28, 0, 0, 0x0000000C),  # ldh [12]
    (0x15, 0, 10, 0x000086DD),  # jeq IPv6 else drop
    (0x30, 0, 0, 0x00000014),  # ldb [20]  next header
    (0x15, 7, 0, 0x0000003A),  # jeq ICMPv6 -> accept
    (0x15, 6, 0, 0x0000002C),  # jeq Fragment -> accept (a message past the MTU: put back together above)
    (0x15, 0, 6, 0x00000011),  # jeq UDP else drop
    (0x28, 0, 0, 0x00000038),  # ldh [56]  UDP destination port
    (0x15, 3, 0, 0x00000222),  # jeq 546 -> accept
    (0x15, 2, 0, 0x00000223),  # jeq 547 -> accept (a relay's port)
    (0x28, 0, 0, 0x00000036),  # ldh [54]  UDP source port
    (0x15, 0, 1, 0x00000223),  # jeq 547 -> accept, else drop
    (0x06, 0, 0, 0x00040000),  # accept
    (0x06, 0, 0, 0x00000000),  # drop
]
