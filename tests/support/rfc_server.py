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
    """``quirks`` turn one behaviour off RFC (the unit tests of server_checks4_more): no-61-echo,
    key-by-chaddr, 82-truncated, override-honoured, override-wrong, nak-retransmission,
    forget-on-release, nak-strangers, bootp-with-53, prl-sorted, 108-when-asked, 108-always,
    108-short, leasequery-active, leasequery-unknown, makes-up-unknown, option-twice (server_checks4_options).
    ``dies_on(frame)`` true: silent from then on."""

    def __init__(self, breaks: dict[str, Callable[[bytearray], None]] | None = None, *,
                 keep_sums: bool = False, options: dict[str, bytes] | None = None,
                 quirks: set[str] | frozenset[str] = frozenset(),
                 dies_on: Callable[[Frame], bool] | None = None) -> None:
        self.breaks = breaks or {}
        self.keep_sums = keep_sums
        self.extra = options or {}   # more option bytes for a kind of reply
        self.quirks = set(quirks)
        self.dies_on = dies_on
        self.dead = False
        self.table: dict[bytes, str] = {}   # client key (option 61, else chaddr) -> address
        self.acked: set[int] = set()

    def key(self, frame: Frame) -> bytes:
        cid = frame.options.get(61)
        return frame.chaddr if cid is None or "key-by-chaddr" in self.quirks else cid

    def address(self, frame: Frame) -> str:
        key = self.key(frame)
        if key not in self.table:
            taken = set(self.table.values())
            self.table[key] = next(f"10.9.0.{n}" for n in range(50, 250) if f"10.9.0.{n}" not in taken)
        return self.table[key]

    def __call__(self, frame: Frame) -> list[bytes]:
        if self.dead or (self.dies_on is not None and self.dies_on(frame)):
            self.dead = True
            return []
        mt = frame.message_type
        if mt is None:   # BOOTP
            return [self.reply(frame, OFFER, self.address(frame))] if "bootp-with-53" in self.quirks else []
        if mt == DISCOVER:
            return [self.reply(frame, OFFER, self.address(frame))]
        if mt == REQUEST:
            return self.request(frame)
        if mt == INFORM:
            return [self.reply(frame, ACK, "0.0.0.0", lease=False)]
        if mt == 7 and "forget-on-release" in self.quirks:   # RELEASE
            self.table.pop(self.key(frame), None)
            self.table[b"gone" + frame.chaddr] = frame.ciaddr   # the address rests a while
        if mt == 10:
            return self.leasequery(frame)
        return []

    def request(self, frame: Frame) -> list[bytes]:
        if frame.server_id not in (None, SERVER_IP):
            return []   # another server was chosen: silent
        wanted = frame.requested or frame.ciaddr
        known = self.table.get(self.key(frame))
        if frame.xid in self.acked and "nak-retransmission" in self.quirks:
            return [self.reply(frame, NAK, "0.0.0.0")]
        if known is not None and wanted == known:
            self.acked.add(frame.xid or 0)
            return [self.reply(frame, ACK, known)]
        if known is None and wanted.startswith("10.9.0.") and "nak-strangers" not in self.quirks:
            return []   # INIT-REBOOT from a client it has no record of: silent (4.3.2)
        return [self.reply(frame, NAK, "0.0.0.0")]

    def leasequery(self, frame: Frame) -> list[bytes]:
        if "leasequery-active" in self.quirks:
            return [self.reply(frame, 13, "0.0.0.0", lease=False)]
        if "leasequery-unknown" in self.quirks:
            return [self.reply(frame, 12, "0.0.0.0", lease=False)]
        return []

    def params(self, frame: Frame) -> bytes:
        have = {1: socket.inet_aton("255.255.255.0"), 3: socket.inet_aton(SERVER_IP), 6: socket.inet_aton(SERVER_IP),
                15: b"lab.test", 28: socket.inet_aton("10.9.0.255")}
        prl = list(frame.options.get(55, b""))
        if "108-always" in self.quirks or ("108-when-asked" in self.quirks and 108 in prl):
            have[108] = struct.pack("!I", 1800)
        if "108-short" in self.quirks and 108 in prl:
            have[108] = b"\x07\x08"
        if "makes-up-unknown" in self.quirks:   # a value for every code asked for, defined or not
            have.update({c: b"\x00\x00\x00\x00" for c in prl if c not in have and c not in (50, 55, 61)})
        order = [c for c in prl if c in have] if prl else [1, 3, 6]
        if "option-twice" in self.quirks and 3 in order:
            order.append(3)
        if "prl-sorted" in self.quirks:
            order = sorted(order)
        if "108-always" in self.quirks and 108 not in order:
            order.append(108)
        return b"".join(opt(c, have[c]) for c in order)

    def reply(self, req: Frame, mt: int, yiaddr: str, lease: bool = True) -> bytes:
        ciaddr = req.ciaddr if mt == ACK else None
        header = bytearray(bootp_header(BOOTREPLY, req.xid or 0, req.chaddr, ciaddr=ciaddr, yiaddr=yiaddr,
                                        flags=req.flags, giaddr=req.giaddr if req.giaddr != "0.0.0.0" else None))
        relay_info = req.options.get(82)
        server_id = SERVER_IP
        if relay_info is not None and b"\x0b\x04" in relay_info:
            if "override-honoured" in self.quirks:
                server_id = socket.inet_ntoa(relay_info[relay_info.index(b"\x0b\x04") + 2:][:4])
            elif "override-wrong" in self.quirks:
                server_id = "10.9.0.99"
        options = opt(53, bytes([mt])) + opt(54, socket.inet_aton(server_id))
        if mt == NAK:
            options += opt(56, b"wrong network")
        elif mt in (OFFER, ACK):
            if lease:
                options += (opt(51, struct.pack("!I", 600)) + opt(58, struct.pack("!I", 300))
                            + opt(59, struct.pack("!I", 525)))
            options += self.params(req)
        if 61 in req.options and "no-61-echo" not in self.quirks:
            options += opt(61, req.options[61])
        options += self.extra.get(KIND.get(mt, ""), b"")
        if relay_info is not None:
            options += opt(82, relay_info[:2 + relay_info[1]] if "82-truncated" in self.quirks else relay_info)
        payload = bytes(header) + MAGIC_COOKIE + options + b"\xff"
        if req.message_type is None and "bootp-with-53" not in self.quirks:
            payload = bytes(header) + MAGIC_COOKIE + b"\xff"
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
