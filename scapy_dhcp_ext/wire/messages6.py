"""Build DHCPv6 messages (pure): the client's messages, relay wrapping, options
by name, by code or as raw bytes.

RFCs: 8415 (messages 16 and 18.2, options 21, relay 19), 4649 (remote-id),
3315's interface-id (now 8415 21.18).

Usage::

    >>> payload = message6(SOLICIT, 0x123456, [client_id(duid), elapsed(0), ia(IA_NA, 1)])
    >>> frame = frame6(payload, mac=b"\\x02\\0\\0\\0\\0\\1")
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Iterable

from . import mac_bytes
from .dhcp6 import (
    ALL_SERVERS,
    CLIENT_PORT6,
    CLIENTID,
    ELAPSED_TIME,
    INTERFACE_ID,
    ORO,
    RAPID_COMMIT,
    RELAY_FORW,
    RELAY_MSG,
    REMOTE_ID,
    SERVER_PORT6,
    SERVERID,
    ip6_bytes,
    link_local,
    multicast_mac,
    option6,
    option_bytes6,
    udp6_frame,
)

DEFAULT_ORO = (23, 24)   # dns_servers, domain_list: what a CPE asks for at least


def message6(msg_type: int, txid: int, options: Iterable[bytes]) -> bytes:
    """A client or server message: type, 3-byte transaction id, options (RFC 8415 8)."""
    return bytes([msg_type & 0xFF]) + (txid & 0xFFFFFF).to_bytes(3, "big") + b"".join(options)


def client_id(duid: bytes) -> bytes:
    return option6(CLIENTID, duid)


def server_id(duid: bytes) -> bytes:
    return option6(SERVERID, duid)


def elapsed(seconds: float) -> bytes:
    """The elapsed-time option: hundredths of a second, 0xffff past its range (21.9)."""
    return option6(ELAPSED_TIME, struct.pack("!H", min(0xFFFF, max(0, int(seconds * 100)))))


def oro(codes: Iterable[int]) -> bytes:
    return option6(ORO, b"".join(struct.pack("!H", c) for c in codes))


def rapid_commit() -> bytes:
    return option6(RAPID_COMMIT)


def user_options(spec: Any) -> list[bytes]:
    """Options a user gives: a dict or a list of ``(name or code, value)``
    (``{"user_class": b"lab", 65000: b"\\x01"}``), a value of bytes being the
    raw payload, or whole options as raw bytes (appended as they are, a
    malformed one included). Raises ValueError with what was wrong."""
    if spec is None:
        return []
    if isinstance(spec, (bytes, bytearray)):
        return [bytes(spec)]
    items = spec.items() if isinstance(spec, dict) else spec
    out = []
    for item in items:
        if isinstance(item, (bytes, bytearray)):
            out.append(bytes(item))
            continue
        try:
            key, value = item
        except (TypeError, ValueError):
            raise ValueError(f"option {item!r}: give (name or code, value), or raw bytes") from None
        out.append(option_bytes6(key, value))
    return out


@dataclass
class Relay6:
    """Act as a relay agent (RFC 8415 19.1): each message goes out inside a
    RELAY-FORW from port 547, and the server answers with a RELAY-REPL.
    ``link_address`` tells the server which link (subnet) the client is on;
    ``peer_address`` defaults to the client's link-local address; ``source``
    (the relay's own address) to the same. ``remote_id`` is
    ``(enterprise_number, bytes)`` or the option's whole payload."""

    link_address: str = "::"
    peer_address: str | None = None
    interface_id: bytes | None = None
    remote_id: Any = None
    hop_count: int = 0
    source: str | None = None

    def wrap(self, message: bytes, peer: str) -> bytes:
        options = []
        if self.interface_id is not None:
            options.append(option6(INTERFACE_ID, bytes(self.interface_id)))
        if self.remote_id is not None:
            rid = self.remote_id
            payload = struct.pack("!I", rid[0]) + bytes(rid[1]) if isinstance(rid, tuple) else bytes(rid)
            options.append(option6(REMOTE_ID, payload))
        options.append(option6(RELAY_MSG, message))
        return (bytes([RELAY_FORW, self.hop_count & 0xFF]) + ip6_bytes(self.link_address)
                + ip6_bytes(self.peer_address or peer) + b"".join(options))


def frame6(payload: bytes, *, mac: str | bytes, src: str | None = None, dst: str = ALL_SERVERS,
           dst_mac: bytes | None = None, relay: bool = False) -> bytes:
    """A DHCPv6 payload in UDP, IPv6 and Ethernet: from the client's port (a
    relay's: 547), to All_DHCP_Relay_Agents_and_Servers unless told."""
    m = mac_bytes(mac)
    return udp6_frame(payload, src_mac=m, dst_mac=dst_mac or multicast_mac(dst), src=src or link_local(m),
                      dst=dst, sport=SERVER_PORT6 if relay else CLIENT_PORT6, dport=SERVER_PORT6,
                      hop_limit=32 if relay else 1)
