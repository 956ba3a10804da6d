"""Build DHCP client messages as bytes (reading them is :mod:`.frames`).

Nothing here sends or receives: these are pure functions over bytes, so they are
fast (about 10 µs a message), testable without a network, and independent of
Scapy's version. Scapy is used only to encode options given by name.

RFCs: 2131 (DHCP), 2132 (options), 3046 (relay agent information, option 82),
3396 (long options split across several instances).

Usage::

    >>> frame = build_message(DISCOVER, mac="02:00:00:00:00:01", xid=0x1234)
    >>> len(frame)
    342
"""

from __future__ import annotations

import ipaddress
import random
import socket
import struct
from dataclasses import dataclass
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
GIADDR_AT = ETH_HLEN + 20 + 8 + 24  # giaddr's offset in a frame we build (no IP options)
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
