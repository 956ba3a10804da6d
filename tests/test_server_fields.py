"""The table-3 server checks (workloads/server_checks4_fields.py) without a network:
each passes against a scripted server that keeps RFC 2131 table 3, and fails (or
warns, for a SHOULD) against the same server with its one rule broken."""

from __future__ import annotations

import socket
import struct

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.link.transport import Transport
from scapy_dhcp_ext.wire import BOOTP_AT, FRAME_OPTIONS, IP_SRC, UDP_AT, Bootp
from scapy_dhcp_ext.workloads import server_checks4_fields
from tests.support.fakes import FakeSocket
from tests.support.rfc_server import RfcServer, opt

IDS = [c.id for c in server_checks4_fields.CHECKS]


def judged(server: RfcServer, *ids: str) -> dict:
    sock = FakeSocket(server)
    with DhcpSession("fake0", state_file=False, transport=Transport("fake0", sock=sock)) as s:
        report = s.check_server(only=list(ids), progress=False, timeout=0.3, quiet=0.2)
    return {r.id: (r.verdict, r.why) for r in report.rows}


def test_every_table3_check_passes_against_a_server_that_keeps_the_table():
    got = judged(RfcServer(), *IDS)
    assert len(got) == len(IDS) >= 50
    assert {k: v for k, v in got.items() if v[0] != "pass"} == {}


def field(offset: int, value: bytes):
    def edit(raw: bytearray) -> None:
        raw[BOOTP_AT + offset:BOOTP_AT + offset + len(value)] = value
    return edit


def find(raw: bytearray, code: int) -> int:
    i = FRAME_OPTIONS
    while raw[i] != code:
        i += 1 if raw[i] == 0 else 2 + raw[i + 1]
    return i


def option(code: int, value: bytes):
    """Overwrites the payload of option ``code`` (same length) where it is."""
    return lambda raw: raw.__setitem__(slice(find(raw, code) + 2, find(raw, code) + 2 + len(value)), value)


def recode(code: int, new: int):
    return lambda raw: raw.__setitem__(find(raw, code), new)


def no_end(raw: bytearray) -> None:
    raw[len(raw.rstrip(b"\0")) - 1] = 0


def flip(at: int, bits: int = 1):
    def edit(raw: bytearray) -> None:
        raw[at] ^= bits
    return edit


def ip(text: str) -> bytes:
    return socket.inet_aton(text)


# check suffix -> (edit, options added, keep the checksums as edited)
BREAKS = {
    "op-bootreply": (field(Bootp.OP, b"\x01"), b"", False),
    "htype-hlen-echoed": (field(Bootp.HTYPE, b"\x06"), b"", False),
    "hops-zero": (field(Bootp.HOPS, b"\x01"), b"", False),
    "secs-zero": (field(Bootp.SECS, b"\x00\x05"), b"", False),
    "giaddr-echoed": (field(Bootp.GIADDR, ip("10.9.0.9")), b"", False),
    "magic-cookie": (field(Bootp.COOKIE, b"\x63\x82\x53\x64"), b"", False),
    "options-end": (no_end, b"", False),
    "udp-ports": (field(-8, struct.pack("!H", 68)), b"", False),
    "checksums-right": (flip(UDP_AT + 6, 0x40), b"", True),
    "no-client-options": (None, opt(55, b"\x01\x03"), False),
    "fits-576": (None, opt(43, bytes(255)) + opt(43, bytes(255)), False),
    "sname-file-terminated": (field(Bootp.FILE, b"a" * 128), b"", False),
    "server-id-is-source": (lambda raw: raw.__setitem__(slice(IP_SRC, IP_SRC + 4), ip("10.9.0.2")), b"", False),
    "yiaddr-usable": (field(Bootp.YIADDR, ip("10.9.0.255")), b"", False),
    "t1-t2-order": (option(58, struct.pack("!I", 600)), b"", False),
    "option-sizes": (None, opt(2, b"\x00\x0e\x10"), False),
    "mask-contiguous": (option(1, ip("255.0.255.0")), b"", False),
    "routers-on-subnet": (option(3, ip("192.0.2.1")), b"", False),
    "ciaddr-echoed": (field(Bootp.CIADDR, ip("10.9.0.7")), b"", False),
    "xid-echoed": (flip(BOOTP_AT + Bootp.XID + 3), b"", False),
    "chaddr-echoed": (flip(BOOTP_AT + Bootp.CHADDR + 5), b"", False),
    "ciaddr-zero": (field(Bootp.CIADDR, ip("10.9.0.7")), b"", False),
    "siaddr-zero": (field(Bootp.SIADDR, ip("10.9.0.7")), b"", False),
    "only-allowed-options": (None, opt(51, struct.pack("!I", 60)), False),
    "sname-file-unused": (field(Bootp.SNAME, b"x"), b"", False),
    "has-message": (recode(56, 60), b"", False),
}


@pytest.mark.parametrize("check_id", IDS)
def test_a_table3_check_fails_when_its_rule_is_broken(check_id):
    kind, suffix = check_id.split("-", 1)
    edit, extra, keep = BREAKS[suffix]
    server = RfcServer({kind: edit} if edit else None, keep_sums=keep, options={kind: extra})
    level = next(c.level for c in server_checks4_fields.CHECKS if c.id == check_id)
    verdict, why = judged(server, check_id)[check_id]
    assert verdict == ("fail" if level == "MUST" else "warn"), (verdict, why)


def test_an_offer_no_client_can_read_is_named_and_nothing_is_judged():
    from scapy_dhcp_ext import DhcpError

    for edit, says in ((field(Bootp.OP, b"\x01"), "op 1"), (field(Bootp.COOKIE, bytes(4)), "no DHCP message type")):
        with pytest.raises(DhcpError, match=f"answered the DISCOVER with a reply no client can read \\({says}"):
            judged(RfcServer({"offer": edit}), "ack-hops-zero")
