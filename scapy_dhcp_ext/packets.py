"""Build DHCP client messages as bytes and read replies defensively.

Nothing here sends or receives: these are pure functions over bytes, so they are
fast, testable without a network, and independent of Scapy's version. Scapy is
used only to encode options given by name and to dissect a frame for display
(lazily, when somebody looks at ``.packet``).

RFCs: 2131 (DHCP), 2132 (options), 3046 (relay agent information, option 82),
3396 (long options split across several instances).

Usage::

    >>> frame = build_message(DISCOVER, mac="02:00:00:00:00:01", xid=0x1234)
    >>> reply = parse_frame(frame)
    >>> reply.message_type == DISCOVER
    True
"""

from __future__ import annotations

import ipaddress
import random
import socket
import struct
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Mapping, Union

DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = range(1, 9)
MESSAGE_TYPES = {
    1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK",
    7: "RELEASE", 8: "INFORM", 9: "FORCERENEW", 10: "LEASEQUERY",
    11: "LEASEUNASSIGNED", 12: "LEASEUNKNOWN", 13: "LEASEACTIVE",
}
MAGIC_COOKIE = b"\x63\x82\x53\x63"
BROADCAST_MAC = b"\xff" * 6
BROADCAST_IP = "255.255.255.255"
ZERO_IP = "0.0.0.0"
CLIENT_PORT, SERVER_PORT = 68, 67
BOOTP_FIXED = 236          # op .. file, without the magic cookie
ETH_HLEN = 14
DEFAULT_PRL = (1, 3, 6, 15, 51, 54, 58, 59)

# Options whose payload has one fixed size, and those made of 4-byte addresses.
FIXED_SIZES = {1: 4, 2: 4, 51: 4, 52: 1, 53: 1, 54: 4, 57: 2, 58: 4, 59: 4, 50: 4}
ADDRESS_LISTS = {3, 4, 5, 6, 7, 8, 9, 10, 11, 41, 42, 44, 45, 48, 49, 65, 68, 69, 70, 71}

Address = Union[str, ipaddress.IPv4Address]
OptionKey = Union[int, str]


class OptionError(ValueError):
    """An option given by the user that cannot be encoded."""


def mac_bytes(mac: str | bytes) -> bytes:
    """``"02:00:00:00:00:01"`` (or 6 bytes) as 6 bytes."""
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
    return ":".join(f"{b:02x}" for b in mac)


def random_mac(rng: random.Random | None = None) -> str:
    """A fresh random, locally administered, unicast MAC address."""
    octets = bytearray((rng or random).getrandbits(8) for _ in range(6))
    octets[0] = (octets[0] & 0xFC) | 0x02
    return mac_str(bytes(octets))


def ip_bytes(addr: Address | None) -> bytes:
    return socket.inet_aton(str(addr)) if addr else b"\0\0\0\0"


def ip_str(raw: bytes) -> str:
    return socket.inet_ntoa(raw)


def new_xid(rng: random.Random | None = None) -> int:
    return (rng or random).getrandbits(32)


# --- options ---------------------------------------------------------------

@dataclass(frozen=True)
class _OptionTables:
    by_name: dict[str, int]      # normalised name -> code
    scapy_name: dict[int, str]   # code -> Scapy's name
    field: Any                   # Scapy's DHCPOptionsField, to encode typed values


_TABLES: _OptionTables | None = None


def _tables() -> _OptionTables:
    """Scapy's option tables, read once (a read-only cache, not state)."""
    global _TABLES
    if _TABLES is None:
        from scapy.layers.dhcp import DHCPOptionsField, DHCPRevOptions

        _TABLES = _OptionTables(
            by_name={k.lower().replace("-", "_"): num for k, (num, _f) in DHCPRevOptions.items()},
            scapy_name={num: k for k, (num, _f) in DHCPRevOptions.items()},
            field=DHCPOptionsField("options", b""),
        )
    return _TABLES


def option_number(key: OptionKey) -> int:
    """The option code for a number or a name (Scapy's names; ``-`` and ``_`` alike)."""
    if isinstance(key, int):
        if not 0 <= key <= 255:
            raise OptionError(f"option code {key} is out of range 0..255")
        return key
    text = str(key).strip()
    if text.isdigit():
        return option_number(int(text))
    try:
        return _tables().by_name[text.lower().replace("-", "_")]
    except KeyError:
        raise OptionError(f"unknown DHCP option {key!r}; give its number, e.g. (224, b'...')") from None


def option_name(code: int) -> str:
    from scapy.layers.dhcp import DHCPOptions

    entry: Any = DHCPOptions.get(code)
    if entry is None:
        return str(code)
    return entry if isinstance(entry, str) else str(entry.name)


def encode_option(key: OptionKey, value: Any) -> bytes:
    """One option as code, length, payload. Bytes are taken as the raw payload;
    other values are encoded as Scapy encodes that option (addresses, numbers,
    lists). A payload over 255 bytes is split as RFC 3396 says."""
    code = option_number(key)
    if isinstance(value, (bytes, bytearray)):
        payload = bytes(value)
    elif isinstance(value, str) and code not in FIXED_SIZES and code not in ADDRESS_LISTS:
        payload = value.encode()
    else:
        tables = _tables()
        scapy_name = tables.scapy_name.get(code)
        if scapy_name is None:
            if isinstance(value, int):
                raise OptionError(f"option {code}: give the value as bytes, e.g. ({code}, b'\\x00')")
            raise OptionError(f"option {code}: cannot encode {value!r}; give bytes")
        values = value if isinstance(value, (list, tuple)) and code not in (55,) else [value]
        try:
            encoded = tables.field.i2m(None, [(scapy_name, *values)])
        except Exception as exc:  # Scapy raises many kinds on a bad value
            raise OptionError(f"option {scapy_name} ({code}): bad value {value!r}: {exc}") from None
        if not encoded:
            raise OptionError(f"option {scapy_name} ({code}): bad value {value!r}")
        payload = encoded[2:]
    if code in (0, 255):
        return bytes([code])
    out = bytearray()
    for start in range(0, max(len(payload), 1), 255):
        chunk = payload[start:start + 255]
        out += bytes([code, len(chunk)]) + chunk
    return bytes(out)


OptionsArg = Union[Mapping[OptionKey, Any], Iterable[Any], None]


def encode_options(options: OptionsArg) -> bytes:
    """Extra options: a mapping ``{key: value}``, or a list whose items are
    ``(key, value)`` pairs or raw ``bytes`` copied as they are (for lying lengths)."""
    if not options:
        return b""
    items = options.items() if isinstance(options, Mapping) else options
    out = bytearray()
    for item in items:
        if isinstance(item, (bytes, bytearray)):
            out += item
        elif isinstance(item, tuple) and len(item) == 2:
            out += encode_option(item[0], item[1])
        else:
            raise OptionError(f"an option is (key, value) or raw bytes, not {item!r}")
    return bytes(out)


def option_codes(options: OptionsArg) -> set[int]:
    if not options:
        return set()
    items = options.items() if isinstance(options, Mapping) else options
    return {option_number(i[0]) for i in items if isinstance(i, tuple)}


# --- building --------------------------------------------------------------

@dataclass(frozen=True)
class MessageOptions:
    """What a client may set on any message; ``None`` leaves an option out.

    ``giaddr`` turns on relay mode: the message goes from port 67, hops 1, and
    carries option 82 when ``circuit_id`` or ``remote_id`` is given."""

    hostname: str | None = None
    client_id: bytes | str | None = None
    vendor_class: bytes | str | None = None
    param_req_list: tuple[int, ...] | list[int] | None = DEFAULT_PRL
    lease_time: int | None = None
    broadcast: bool = False
    giaddr: str | None = None
    circuit_id: bytes | str | None = None
    remote_id: bytes | str | None = None
    options: Any = None

    def merged(self, **changes: Any) -> MessageOptions:
        known = {k: v for k, v in changes.items() if v is not None}
        unknown = set(known) - set(self.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown option keyword(s): {', '.join(sorted(unknown))}")
        values = {**self.__dict__, **known}
        return MessageOptions(**values)


def _b(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def relay_agent_option(circuit_id: bytes | str | None, remote_id: bytes | str | None) -> bytes:
    sub = b""
    for code, value in ((1, circuit_id), (2, remote_id)):
        if value is not None:
            v = _b(value)
            sub += bytes([code, len(v)]) + v
    return bytes([82, len(sub)]) + sub


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def finish_udp_checksum(raw: bytes) -> bytes:
    """The frame with its UDP checksum computed, as a NIC with checksum offload
    would have done on the wire (veth hands packet sockets the frame before)."""
    if len(raw) < 42 or raw[12:14] != b"\x08\x00" or raw[23] != 17:
        return raw
    ihl = (raw[14] & 0x0F) * 4
    start = 14 + ihl
    ulen = struct.unpack("!H", raw[start + 4:start + 6])[0]
    if ulen < 8 or start + ulen > len(raw):
        return raw
    udp = raw[start:start + 2 * 3] + b"\0\0" + raw[start + 8:start + ulen]
    csum = checksum(raw[26:34] + struct.pack("!BBH", 0, 17, ulen) + udp) or 0xFFFF
    return raw[:start + 6] + struct.pack("!H", csum) + raw[start + 8:]


def ip_udp_frame(payload: bytes, *, src_mac: bytes, dst_mac: bytes, src_ip: str, dst_ip: str,
                 sport: int, dport: int, ttl: int = 64, ip_id: int = 0) -> bytes:
    """Ethernet + IPv4 + UDP around ``payload``, lengths and checksums computed."""
    src, dst = ip_bytes(src_ip), ip_bytes(dst_ip)
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, ip_id, 0, ttl, 17, 0, src, dst)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return dst_mac + src_mac + b"\x08\x00" + header + udp


def bootp_payload(msg_type: int, *, mac: bytes, xid: int, opts: MessageOptions,
                  ciaddr: str | None = None, requested: str | None = None,
                  server_id: str | None = None, secs: int = 0, message: str | None = None) -> bytes:
    """The BOOTP header, cookie and options of one client message."""
    flags = 0x8000 if opts.broadcast else 0
    hops = 1 if opts.giaddr else 0
    header = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, hops, xid, secs, flags,
                         ip_bytes(ciaddr), b"\0" * 4, b"\0" * 4, ip_bytes(opts.giaddr),
                         mac.ljust(16, b"\0"), b"", b"")
    extra = opts.options
    given = option_codes(extra)
    out = bytearray(MAGIC_COOKIE)
    out += bytes([53, 1, msg_type])

    def add(code: int, value: Any) -> None:
        if value is not None and code not in given:
            out.extend(encode_option(code, value))

    add(61, _b(opts.client_id) if opts.client_id is not None else None)
    add(50, ip_bytes(requested) if requested else None)
    add(54, ip_bytes(server_id) if server_id else None)
    add(12, opts.hostname)
    add(60, opts.vendor_class)
    if msg_type in (DISCOVER, REQUEST, INFORM):
        add(51, struct.pack("!I", opts.lease_time) if opts.lease_time is not None and msg_type != INFORM else None)
        add(55, bytes(opts.param_req_list) if opts.param_req_list else None)
    add(56, message)
    out += encode_options(extra)
    if opts.giaddr and (opts.circuit_id is not None or opts.remote_id is not None) and 82 not in given:
        out += relay_agent_option(opts.circuit_id, opts.remote_id)
    out.append(255)
    return header + bytes(out)


def build_message(msg_type: int, *, mac: str | bytes, xid: int, opts: MessageOptions | None = None,
                  ciaddr: str | None = None, requested: str | None = None,
                  server_id: str | None = None, dst_ip: str = BROADCAST_IP,
                  dst_mac: bytes = BROADCAST_MAC, secs: int = 0, message: str | None = None,
                  min_size: int = 300) -> bytes:
    """A whole client frame (Ethernet to DHCP options), ready for the wire.

    Relay mode (``opts.giaddr``) sends from the relay's address and port 67, as
    a relay agent does; otherwise from ``ciaddr`` (or 0.0.0.0) and port 68. The
    BOOTP part is padded to ``min_size`` bytes, as RFC 1542 clients do."""
    opts = opts or MessageOptions()
    mac_b = mac_bytes(mac)
    payload = bootp_payload(msg_type, mac=mac_b, xid=xid, opts=opts, ciaddr=ciaddr,
                            requested=requested, server_id=server_id, secs=secs, message=message)
    payload = payload.ljust(min_size, b"\0")
    if opts.giaddr:
        src_ip, sport, dport = opts.giaddr, SERVER_PORT, SERVER_PORT
    else:
        src_ip, sport, dport = ciaddr or ZERO_IP, CLIENT_PORT, SERVER_PORT
    return ip_udp_frame(payload, src_mac=mac_b, dst_mac=dst_mac, src_ip=src_ip, dst_ip=dst_ip,
                        sport=sport, dport=dport, ttl=64 if ciaddr or opts.giaddr else 128)


# --- reading -----------------------------------------------------------------

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


MAX_OPTION_ITEMS = 2048  # bounds the work on a hostile option area


def _read_options(data: bytes, where: str, frame: Frame, chunks: dict[int, list[bytes]]) -> tuple[bool, int]:
    """Reads one option area; returns (END seen, overload value)."""
    i, n, overload = 0, len(data), 0
    for _ in range(MAX_OPTION_ITEMS):
        if i >= n:
            if where == "options":
                frame.problems.append("no END option")
            return False, overload
        code = data[i]
        if code == 0:
            i += 1
            continue
        if code == 255:
            if where == "options" and data[i + 1:].strip(b"\0"):
                frame.problems.append(f"{len(data) - i - 1} bytes after END, not all PAD")
            return True, overload
        if i + 1 >= n:
            frame.problems.append(f"option {code} is cut off after its code ({where})")
            return False, overload
        length = data[i + 1]
        payload = data[i + 2:i + 2 + length]
        if len(payload) < length:
            frame.problems.append(f"option {code} has length {length} but only {len(payload)} bytes remain ({where})")
            return False, overload
        if code == 52 and length == 1:
            overload = payload[0]
        chunks.setdefault(code, []).append(payload)
        if code not in frame.option_order:
            frame.option_order.append(code)
        i += 2 + length
    frame.problems.append(f"more than {MAX_OPTION_ITEMS} option items ({where})")
    return False, overload


def _check_options(frame: Frame, chunks: dict[int, list[bytes]]) -> None:
    for code, parts in chunks.items():
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
TEXT_OPTIONS = {12: "hostname", 14: "merit dump", 15: "domain", 17: "root path", 40: "NIS domain",
                56: "message", 64: "NIS+ domain", 66: "TFTP server", 67: "boot file"}


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
        if len(data) >= 8:
            frame.op = data[0]
            frame.xid = struct.unpack("!I", data[4:8])[0]
        if len(data) >= 34:
            frame.chaddr = data[28:34]
        return
    (frame.op, htype, hlen, _hops, frame.xid, _secs, frame.flags, ci, yi, si, gi,
     chaddr) = struct.unpack("!BBBBIHH4s4s4s4s16s", data[:44])
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
    chunks: dict[int, list[bytes]] = {}
    _end, overload = _read_options(data[BOOTP_FIXED + 4:], "options", frame, chunks)
    if overload & 1:
        _read_options(data[108:236], "file field", frame, chunks)
    if overload & 2:
        _read_options(data[44:108], "sname field", frame, chunks)
    if 52 in chunks and len(chunks[52]) > 1:
        frame.problems.append("option 52 (overload) appears more than once")
    if overload > 3:
        frame.problems.append(f"option 52 has value {overload} (expected 1, 2 or 3)")
    _check_options(frame, chunks)
    if frame.op == 2:
        _check_values(frame)


def parse_frame(raw: bytes, time: float = 0.0) -> Frame:
    """Reads an Ethernet frame that may hold a DHCP message. Never raises:
    whatever is wrong goes into ``.problems``."""
    frame = Frame(raw=bytes(raw), time=time)
    if len(raw) < ETH_HLEN:
        frame.problems.append(f"frame is {len(raw)} bytes (shorter than an Ethernet header)")
        return frame
    frame.eth_dst, frame.eth_src = raw[:6], raw[6:12]
    if raw[12:14] != b"\x08\x00":
        return frame
    ip = raw[ETH_HLEN:]
    if len(ip) < 20:
        frame.problems.append(f"IP header cut off at {len(ip)} bytes")
        return frame
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    frag = struct.unpack("!H", ip[6:8])[0]
    frame.ip_src, frame.ip_dst = ip_str(ip[12:16]), ip_str(ip[16:20])
    if ip[9] != 17:
        return frame
    if ihl < 20 or len(ip) < ihl + 8:
        frame.problems.append(f"IP header length {ihl} leaves no room for UDP")
        return frame
    if frag & 0x1FFF:
        frame.problems.append("a later IP fragment (not reassembled)")
        return frame
    if frag & 0x2000:
        frame.problems.append("first IP fragment only (not reassembled)")
    if total > len(ip):
        frame.problems.append(f"IP total length {total} is more than the {len(ip)} bytes received")
    elif total < ihl + 8:
        frame.problems.append(f"IP total length {total} is shorter than its headers")
    udp = ip[ihl:]
    frame.sport, frame.dport, ulen = struct.unpack("!HHH", udp[:6])
    in_ip = min(len(udp), max(total - ihl, 0)) if not frag & 0x2000 else len(udp)  # less Ethernet padding
    if ulen > len(udp):
        frame.problems.append(f"UDP length {ulen} is more than the {len(udp)} bytes received")
    elif ulen < 8:
        frame.problems.append(f"UDP length {ulen} is shorter than its header")
    elif ulen < in_ip:
        frame.problems.append(f"UDP length {ulen} is less than the {in_ip} bytes the IP packet carries")
    elif ulen > in_ip:
        frame.problems.append(f"UDP length {ulen} is more than the {in_ip} bytes the IP packet carries")
    else:
        udp = udp[:ulen]
        udp_sum = struct.unpack("!H", udp[6:8])[0]
        if udp_sum and not frag & 0x2000:
            pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, ulen)
            want = checksum(pseudo + udp[:6] + b"\0\0" + udp[8:]) or 0xFFFF  # 0 goes out as 0xFFFF
            if want != udp_sum:
                frame.problems.append(f"bad UDP checksum {udp_sum:#06x} (expected {want:#06x})")
    if {frame.sport, frame.dport} & {CLIENT_PORT, SERVER_PORT}:
        _read_bootp(udp[8:], frame)
    return frame
