"""Build DHCP client messages as bytes (reading them is :mod:`.frames4`).

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

import struct
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Union

from . import (
    ADDRESS_LISTS,
    BROADCAST_FLAG,
    BROADCAST_IP,
    BROADCAST_MAC,
    CLIENT_PORT,
    DEFAULT_PRL,
    DISCOVER,
    END,
    FIXED_SIZES,
    INFORM,
    MAGIC_COOKIE,
    REQUEST,
    SERVER_PORT,
    ZERO_IP,
    OptionError,
    bootp_header,
    ip_bytes,
    ip_udp_frame,
    mac_bytes,
    option_number,
    option_tables,
    parse_value,
)

OptionKey = Union[int, str]


def encode_option(key: OptionKey, value: Any) -> bytes:
    """One option as code, length, payload. Bytes are taken as the raw payload;
    other values are encoded as Scapy encodes that option (addresses, numbers,
    lists). A payload over 255 bytes is split as RFC 3396 says."""
    code = option_number(key)
    if isinstance(value, str) and value.startswith("hex:"):
        value = parse_value(value)  # as typed at the prompt: bytes
    if isinstance(value, (bytes, bytearray)):
        payload = bytes(value)
    elif isinstance(value, str) and code not in FIXED_SIZES and code not in ADDRESS_LISTS:
        payload = value.encode()
    else:
        tables = option_tables()
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
        if not known:
            return self  # frozen: the same options serve again
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


def bootp_payload(msg_type: int, *, mac: bytes, xid: int, opts: MessageOptions,
                  ciaddr: str | None = None, requested: str | None = None,
                  server_id: str | None = None, secs: int = 0, message: str | None = None) -> bytes:
    """The BOOTP header, cookie and options of one client message."""
    header = bootp_header(1, xid, mac, hops=1 if opts.giaddr else 0, secs=secs,
                          flags=BROADCAST_FLAG if opts.broadcast else 0, ciaddr=ciaddr, giaddr=opts.giaddr)
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
    out.append(END)
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
