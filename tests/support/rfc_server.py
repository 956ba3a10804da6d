"""A scripted DHCP server that keeps RFC 2131 table 3 to the letter, and breaks one
rule on request: the peer of the server checks' unit tests (each check passes
against it, and fails once its rule is broken).

``RfcServer(breaks={"offer": edit})`` applies ``edit(bytearray)`` to every OFFER
(likewise "ack", "nak") before its checksums are made right again; ``keep_sums``
leaves them as the edit left them."""

from __future__ import annotations

import socket
import struct
from typing import Callable

from scapy_dhcp_ext.wire import (
    ACK,
    BOOTREPLY,
    DISCOVER,
    INFORM,
    MAGIC_COOKIE,
    NAK,
    OFFER,
    REQUEST,
    bootp_header,
    ip_udp_frame,
    patch_checksums,
)
from scapy_dhcp_ext.wire.frames4 import Frame
from tests.support.fakes import SERVER_IP, SERVER_MAC

ADDRESS = "10.9.0.50"
KIND = {OFFER: "offer", ACK: "ack", NAK: "nak"}


def opt(code: int, value: bytes) -> bytes:
    return bytes([code, len(value)]) + value


class RfcServer:
    def __init__(self, breaks: dict[str, Callable[[bytearray], None]] | None = None, *,
                 keep_sums: bool = False, options: dict[str, bytes] | None = None) -> None:
        self.breaks = breaks or {}
        self.keep_sums = keep_sums
        self.extra = options or {}   # more option bytes for a kind of reply

    def __call__(self, frame: Frame) -> list[bytes]:
        mt = frame.message_type
        if mt == DISCOVER:
            return [self.reply(frame, OFFER, ADDRESS)]
        if mt == REQUEST:
            if frame.server_id not in (None, SERVER_IP):
                return []   # another server was chosen: silent
            wanted = frame.requested or frame.ciaddr
            if wanted == ADDRESS:
                return [self.reply(frame, ACK, ADDRESS)]
            return [self.reply(frame, NAK, "0.0.0.0")]
        if mt == INFORM:
            return [self.reply(frame, ACK, "0.0.0.0", lease=False)]
        return []

    def reply(self, req: Frame, mt: int, yiaddr: str, lease: bool = True) -> bytes:
        ciaddr = req.ciaddr if mt == ACK else None
        header = bytearray(bootp_header(BOOTREPLY, req.xid or 0, req.chaddr, ciaddr=ciaddr, yiaddr=yiaddr,
                                        flags=req.flags, giaddr=req.giaddr if req.giaddr != "0.0.0.0" else None))
        options = opt(53, bytes([mt])) + opt(54, socket.inet_aton(SERVER_IP))
        if mt == NAK:
            options += opt(56, b"wrong network")
        else:
            if lease:
                options += (opt(51, struct.pack("!I", 600)) + opt(58, struct.pack("!I", 300))
                            + opt(59, struct.pack("!I", 525)))
            options += (opt(1, socket.inet_aton("255.255.255.0")) + opt(3, socket.inet_aton(SERVER_IP))
                        + opt(6, socket.inet_aton(SERVER_IP)))
        options += self.extra.get(KIND.get(mt, ""), b"")
        payload = bytes(header) + MAGIC_COOKIE + options + b"\xff"
        payload = payload.ljust(300, b"\0")
        relayed = req.giaddr != "0.0.0.0"
        dst = req.giaddr if relayed else (req.ciaddr if mt == ACK and req.ciaddr != "0.0.0.0" else "255.255.255.255")
        raw = bytearray(ip_udp_frame(payload, src_mac=SERVER_MAC, dst_mac=req.eth_src or b"\xff" * 6,
                                     src_ip=SERVER_IP, dst_ip=dst, sport=67, dport=67 if relayed else 68))
        edit = self.breaks.get(KIND.get(mt, ""))
        if edit is not None:
            edit(raw)
            if not self.keep_sums:
                patch_checksums(raw)
        return bytes(raw)
