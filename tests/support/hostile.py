"""A catalog of hostile DHCP replies: each case turns a client's request into
the frames a broken or malicious server would send back.

Each entry: name -> (builder, expectation). The expectation is what the tool
must make of it: ``"malformed: <words>"`` (kept, shown with that reason),
``"ignored"`` (not ours: kept in the history as ignored), ``"offers: N"``,
or ``"flood"``."""

from __future__ import annotations

import socket
import struct
from typing import Callable

from scapy_dhcp_ext.wire import (
    ACK,
    BOOTP_AT,
    IP_AT,
    IP_LEN,
    IP_MF,
    MAGIC_COOKIE,
    OFFER,
    UDP_AT,
    UDP_CSUM,
    UDP_LEN,
    bootp_header,
    ip_udp_frame,
    patch_ip_checksum,
)
from scapy_dhcp_ext.wire.frames4 import Frame
from tests.support.fakes import SERVER_MAC

SERVER = "10.77.0.250"
YIADDR = "10.77.0.77"


def opt(code: int, data: bytes) -> bytes:
    return bytes([code, len(data)]) + data


def good_options(mt: int, server: str = SERVER) -> bytes:
    return (opt(53, bytes([mt])) + opt(54, socket.inet_aton(server)) + opt(51, struct.pack("!I", 600))
            + opt(1, socket.inet_aton("255.255.255.0")) + opt(3, socket.inet_aton(server)))


def bootp(req: Frame, options: bytes, *, op: int = 2, hlen: int = 6, xid: int | None = None,
          chaddr: bytes | None = None, yiaddr: str = YIADDR, cookie: bytes = MAGIC_COOKIE,
          file: bytes = b"", sname: bytes = b"") -> bytes:
    return bootp_header(op, req.xid if xid is None else xid, req.chaddr if chaddr is None else chaddr, hlen=hlen,
                        yiaddr=yiaddr, sname=sname, file=file) + cookie + options


def wrap(req: Frame, payload: bytes, server: str = SERVER) -> bytes:
    return ip_udp_frame(payload, src_mac=SERVER_MAC, dst_mac=req.chaddr or b"\xff" * 6, src_ip=server,
                        dst_ip="255.255.255.255", sport=67, dport=68)


def reply(req: Frame, mt: int, extra: bytes = b"", end: bytes = b"\xff", **kw) -> bytes:
    return wrap(req, bootp(req, good_options(mt) + extra + end, **kw))


def with_options(options: Callable[[int], bytes], **kw) -> Callable[[Frame, int], list[bytes]]:
    return lambda req, mt: [wrap(req, bootp(req, options(mt), **kw))]


def patched(mutate: Callable[[bytearray], None]) -> Callable[[Frame, int], list[bytes]]:
    def build(req: Frame, mt: int) -> list[bytes]:
        frame = bytearray(reply(req, mt))
        mutate(frame)
        return [bytes(frame)]
    return build


def set_ip_len(delta: int) -> Callable[[bytearray], None]:
    def mutate(f: bytearray) -> None:
        struct.pack_into("!H", f, IP_LEN, len(f) - IP_AT + delta)
        patch_ip_checksum(f)
    return mutate


def set_udp_len(delta: int) -> Callable[[bytearray], None]:
    def mutate(f: bytearray) -> None:
        struct.pack_into("!H", f, UDP_LEN, len(f) - UDP_AT + delta)
        f[UDP_CSUM:UDP_CSUM + 2] = b"\0\0"
    return mutate


def first_fragment(req: Frame, mt: int) -> list[bytes]:
    f = bytearray(reply(req, mt, extra=opt(224, b"x" * 200)))
    cut = BOOTP_AT + 256  # a multiple of 8 after the IP header
    frame = f[:cut]
    struct.pack_into("!HHH", frame, IP_LEN, cut - IP_AT, 0x1234, IP_MF)
    patch_ip_checksum(frame)
    return [bytes(frame)]


def cut_payload(n: int) -> Callable[[Frame, int], list[bytes]]:
    return lambda req, mt: [wrap(req, bootp(req, good_options(mt) + b"\xff")[:n])]


Case = tuple[Callable[[Frame, int], list[bytes]], str]

CATALOG: dict[str, Case] = {
    "empty-payload": (lambda req, mt: [wrap(req, b"")], "ignored"),
    "cut-in-fixed-header": (cut_payload(100), "malformed: shorter than the 236-byte header"),
    "cut-in-options": (cut_payload(236 + 4 + 3 + 4), "malformed: option 54 has length 4 but only 2 bytes"),
    "missing-end": (with_options(good_options), "malformed: no END option"),
    "option-len-past-end": (with_options(lambda mt: good_options(mt) + b"\x0c\x40abc"),
                            "malformed: option 12 has length 64"),
    "option-code-last-byte": (with_options(lambda mt: good_options(mt) + b"\x0f"), "malformed: cut off after its code"),
    "zero-len-server-id": (with_options(lambda mt: opt(53, bytes([mt])) + opt(54, b"") + b"\xff"),
                           "malformed: option 54 has length 0"),
    "zero-len-lease-time": (with_options(lambda mt: opt(53, bytes([mt])) + opt(54, socket.inet_aton(SERVER))
                                         + opt(51, b"") + b"\xff"), "malformed: option 51 has length 0"),
    "bad-size-mask": (lambda req, mt: [reply(req, mt, opt(1, b"\xff\xff\xff"))], "malformed: option 1 has length 7"),
    "bad-size-server-id": (with_options(lambda mt: opt(53, bytes([mt])) + opt(54, b"\x0a\x4d\x00\xfa\x00") + b"\xff"),
                           "malformed: option 54 has length 5"),
    "bad-size-lease-time": (with_options(lambda mt: opt(53, bytes([mt])) + opt(51, b"\x01\x00") + b"\xff"),
                            "malformed: option 51 has length 2"),
    "overload-file": (with_options(lambda mt: opt(53, bytes([mt])) + opt(52, b"\x01") + b"\xff",
                                   file=opt(54, socket.inet_aton(SERVER)) + opt(51, b"\0\0\2\0") + b"\xff"),
                      "offers: 1"),
    "overload-nested": (with_options(lambda mt: opt(53, bytes([mt])) + opt(52, b"\x03") + b"\xff",
                                     file=opt(52, b"\x03") + b"\xff", sname=opt(52, b"\x01") + b"\xff"),
                        "malformed: option 52 (overload) appears more than once"),
    "overload-bad-value": (lambda req, mt: [reply(req, mt, opt(52, b"\x07"))], "malformed: option 52 has value 7"),
    "pad-runs": (with_options(lambda mt: b"\0" * 400 + good_options(mt) + b"\0" * 100 + b"\xff"), "offers: 1"),
    "duplicate-type": (lambda req, mt: [reply(req, mt, opt(53, bytes([mt])))], "malformed: option 53 appears more"),
    "conflicting-types": (lambda req, mt: [reply(req, mt, opt(53, b"\x06"))], "malformed: conflicting message types"),
    "unknown-type": (with_options(lambda mt: opt(53, b"\x63") + opt(54, socket.inet_aton(SERVER)) + b"\xff"),
                     "malformed: unknown message type 99"),
    "domain-search-loop": (lambda req, mt: [reply(req, mt, opt(119, b"\x03lab\xc0\x00"))],
                           "malformed: compression-pointer loop"),
    "fqdn-loop": (lambda req, mt: [reply(req, mt, opt(81, b"\x04\x00\x00\xc0\x03"))], "malformed: option 81"),
    "route-prefix-40": (lambda req, mt: [reply(req, mt, opt(121, b"\x28\x0a\x00\x00\x00\x00\x0a\x00\x00\x01"))],
                        "malformed: prefix /40"),
    "hostname-nul": (lambda req, mt: [reply(req, mt, opt(12, b"a\0b"))], "malformed: contains NUL"),
    "domain-non-utf8": (lambda req, mt: [reply(req, mt, opt(15, b"\xff\xfe\xc3"))], "malformed: is not UTF-8"),
    "domain-shell": (lambda req, mt: [reply(req, mt, opt(15, b"x;$(reboot)`id`"))],
                     "malformed: shell metacharacters"),
    "garbage-option-82": (lambda req, mt: [reply(req, mt, opt(82, b"\x01\x09ab\x02"))],
                          "malformed: option 82 sub-option 1 runs past"),
    "hlen-0": (lambda req, mt: [reply(req, mt, hlen=0)], "malformed: hlen 0"),
    "hlen-255": (lambda req, mt: [reply(req, mt, hlen=255)], "malformed: hlen 255"),
    "op-1-in-reply": (lambda req, mt: [reply(req, mt, op=1)], "ignored"),
    "bad-magic-cookie": (lambda req, mt: [reply(req, mt, cookie=b"\x63\x82\x53\x00")], "malformed: bad magic cookie"),
    "ip-length-long": (patched(set_ip_len(+60)), "malformed: IP total length"),
    "ip-length-short": (patched(set_ip_len(-60)), "malformed: UDP length"),
    "udp-length-long": (patched(set_udp_len(+60)), "malformed: UDP length"),
    "udp-length-short": (patched(set_udp_len(-60)), "malformed: is less than the"),
    "bad-udp-checksum": (patched(lambda f: f.__setitem__(slice(UDP_CSUM, UDP_CSUM + 2), b"\xbe\xef")),
                         "malformed: bad UDP checksum"),
    "first-fragment-only": (first_fragment, "malformed: first IP fragment only"),
    "wrong-xid": (lambda req, mt: [reply(req, mt, xid=(req.xid or 0) ^ 0xFFFF)], "ignored"),
    "wrong-chaddr": (lambda req, mt: [reply(req, mt, chaddr=b"\x02\x99\x99\x99\x99\x99")], "ignored"),
    "option-area-1028": (lambda req, mt: [reply(req, mt, b"".join(opt(224 + i, b"v" * 255) for i in range(4)))],
                         "offers: 1"),
    "flood-500": (lambda req, mt: [reply(req, mt)] * 500, "flood"),
    "trailing-garbage": (lambda req, mt: [reply(req, mt, end=b"\xff" + b"garbage!" * 8)],
                         "malformed: bytes after END, not all PAD"),
    "lease-0-t1-after-t2": (with_options(lambda mt: opt(53, bytes([mt])) + opt(54, socket.inet_aton(SERVER))
                                         + opt(51, b"\0\0\0\0") + opt(58, b"\0\0\1\0") + opt(59, b"\0\0\0\x10")
                                         + b"\xff"), "malformed: lease time 0"),
    "yiaddr-broadcast": (lambda req, mt: [reply(req, mt, yiaddr="255.255.255.255")],
                         "malformed: yiaddr 255.255.255.255"),
    "two-servers": (lambda req, mt: [reply(req, mt),
                                     wrap(req, bootp(req, good_options(mt, "10.77.0.251") + b"\xff",
                                                     yiaddr="10.77.0.88"), server="10.77.0.251")], "offers: 2"),
}


def respond(case: str, req: Frame) -> list[bytes]:
    """The frames for this case: OFFERs to a DISCOVER, ACKs to a REQUEST."""
    mt = {1: OFFER, 3: ACK}.get(req.message_type or 0)
    if mt is None:
        return []
    if case == "normal":
        return [reply(req, mt)]
    return CATALOG[case][0](req, mt)
