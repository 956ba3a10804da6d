"""Editing a reply of ours into a hostile one (pure): the tools the reply catalogs share.

A reply of our server is Ethernet, IPv4 without options, UDP and BOOTP; each
tool takes the whole valid frame and gives back the frames to send instead,
lengths and checksums made right again unless the case is about them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable

from ..wire import (
    BOOTP_AT,
    FRAME_OPTIONS,
    IP_DST,
    IP_SRC,
    UDP_AT,
    Bootp,
    ip_str,
    ip_udp_frame,
    iter_options,
)

SHELL = b"$(touch /tmp/pwned)`id`;reboot|&"


@dataclass(frozen=True)
class Ctx:
    """What a case may need besides the reply: the server's address, the
    client's MAC, and a second server id for spoofed replies."""

    server_ip: str
    client_mac: bytes
    other_server: str = "10.77.0.253"


@dataclass(frozen=True)
class ReplyCase:
    name: str
    cite: str
    phase: str          # offer, ack, renew, bound
    what: str
    make: Callable[[bytes, Ctx], list[bytes]]
    expect: str = ""    # what a careful client does: "accepted" or "rejected" ("" when either is defensible)


# -- editing a reply of ours (Ethernet, IPv4 without options, UDP, BOOTP) ---------------

def options_of(raw: bytes) -> list[tuple[int, bytes]]:
    return [(code, payload) for _at, code, payload in iter_options(raw, FRAME_OPTIONS)]


def encode(items: list[tuple[int, bytes]]) -> bytes:
    return b"".join(bytes([code, len(p)]) + p for code, p in items)


def rebuild(raw: bytes, area: bytes, *, bootp: bytes | None = None, end: bool = True, pad: bool = True) -> bytes:
    """``raw`` with its option area replaced by ``area`` (END added unless
    ``end`` is off, PAD to 300 bytes unless ``pad`` is off), lengths and
    checksums made right again."""
    head = bytes(bootp if bootp is not None else raw[BOOTP_AT:FRAME_OPTIONS])
    body = head + area + (b"\xff" if end else b"")
    if pad and len(body) < 300:
        body += bytes(300 - len(body))
    sport, dport = struct.unpack_from("!HH", raw, UDP_AT)
    return ip_udp_frame(body, src_mac=raw[6:12], dst_mac=raw[0:6], src_ip=ip_str(raw[IP_SRC:IP_SRC + 4]),
                        dst_ip=ip_str(raw[IP_DST:IP_DST + 4]), sport=sport, dport=dport)


def with_options(change: Callable[[list[tuple[int, bytes]]], list[tuple[int, bytes]]]) -> Callable[
        [bytes, Ctx], list[bytes]]:
    return lambda raw, _ctx: [rebuild(raw, encode(change(options_of(raw))))]


def set_option(raw: bytes, code: int, payload: bytes) -> bytes:
    """``raw`` with option ``code`` set to ``payload``, any length (replaced where it was, else added before END)."""
    items = options_of(raw)
    if any(c == code for c, _p in items):
        items = [(c, payload if c == code else p) for c, p in items]
    else:
        items.append((code, payload))
    return rebuild(raw, encode(items))


def setopt(code: int, payload: bytes) -> Callable[[bytes, Ctx], list[bytes]]:
    """Option ``code`` set to ``payload`` (replaced where it was, else added before END)."""
    return lambda raw, _ctx: [set_option(raw, code, payload)]


def dropopt(code: int) -> Callable[[bytes, Ctx], list[bytes]]:
    return with_options(lambda items: [(c, p) for c, p in items if c != code])


def rawtail(extra: bytes, *, end: bool = True) -> Callable[[bytes, Ctx], list[bytes]]:
    """Bytes appended to the option area as they are (lying lengths)."""
    return lambda raw, _ctx: [rebuild(raw, encode(options_of(raw)) + extra, end=end)]


def setfield(offset: int, value: bytes) -> Callable[[bytes, Ctx], list[bytes]]:
    """A fixed BOOTP field (offset within BOOTP) set to ``value``."""
    def make(raw: bytes, _ctx: Ctx) -> list[bytes]:
        head = bytearray(raw[BOOTP_AT:FRAME_OPTIONS])
        head[offset:offset + len(value)] = value
        return [rebuild(raw, encode(options_of(raw)), bootp=bytes(head))]
    return make


def ip(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def name(*labels: bytes) -> bytes:
    return b"".join(bytes([len(x)]) + x for x in labels) + b"\0"


def split(code: int, data: bytes) -> list[tuple[int, bytes]]:
    """RFC 3396: one long option as several instances of 255 bytes at most."""
    return [(code, data[i:i + 255]) for i in range(0, len(data), 255)]


def long_option(code: int, data: bytes) -> Callable[[bytes, Ctx], list[bytes]]:
    return with_options(lambda items: [(c, p) for c, p in items if c != code] + split(code, data))


def overload(value: int, *, file_area: bytes = b"", sname_area: bytes = b"") -> Callable[[bytes, Ctx], list[bytes]]:
    """Option 52 with ``value``, and the file and sname fields holding options."""
    def make(raw: bytes, _ctx: Ctx) -> list[bytes]:
        head = bytearray(raw[BOOTP_AT:FRAME_OPTIONS])
        if file_area:
            head[Bootp.FILE:Bootp.FILE + Bootp.FILE_LEN] = file_area[:Bootp.FILE_LEN].ljust(Bootp.FILE_LEN, b"\0")
        if sname_area:
            head[Bootp.SNAME:Bootp.SNAME + Bootp.SNAME_LEN] = sname_area[:Bootp.SNAME_LEN].ljust(
                Bootp.SNAME_LEN, b"\0")
        return [rebuild(raw, encode(options_of(raw) + [(52, bytes([value]))]), bootp=bytes(head))]
    return make
