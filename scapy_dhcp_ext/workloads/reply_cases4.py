"""The catalog of hostile replies for ``sweep_replies()``: pure, nothing sends.

Each case is one anomaly on an otherwise valid reply of our server, with a
stable name and the CVE or RFC clause it comes from. ``phase`` says which
reply it replaces: ``offer`` (the OFFER to a DISCOVER), ``ack`` (the ACK to
the REQUEST that follows a normal OFFER), ``renew`` (a NAK to the renewal of
a lease just bound) or ``bound`` (a FORCERENEW once bound). ``make(reply, ctx)``
takes the whole valid reply frame and returns the frames to send instead.

The record of client bugs it comes from: busybox udhcp's reads past fixed-size
options (CVE-2018-20679, CVE-2019-5747); shell metacharacters in names that
reach hook scripts (CVE-2011-0997, CVE-2011-2716, CVE-2018-1111); option 119
compression loops (CVE-2020-7461); overlong and concatenated options
(CVE-2018-5732, CVE-2021-25217); a missing option 53 (CVE-2020-7216); dhcpcd's
out-of-bounds reads (CVE-2019-11577, -11578, -11579, -11766); option 121
(RFC 3442) with a mask over 32, truncated, or /0; and RFC 2131's rules on
replies a client must ignore.
"""

from __future__ import annotations

import struct

from ..wire import BOOTP_AT, FRAME_OPTIONS, IP_SRC, UDP_AT, Bootp
from .cases4 import fragment
from .reply_edit4 import (
    SHELL,
    Ctx,
    ReplyCase,
    dropopt,
    encode,
    ip,
    long_option,
    name,
    options_of,
    overload,
    rawtail,
    rebuild,
    setfield,
    setopt,
    with_options,
)
from .reply_record4 import record

__all__ = ["Ctx", "ReplyCase", "catalog", "select"]


def _xid_plus_one(raw: bytes, _ctx: Ctx) -> list[bytes]:
    xid = struct.unpack_from("!I", raw, BOOTP_AT + Bootp.XID)[0]
    return setfield(Bootp.XID, struct.pack("!I", (xid + 1) & 0xFFFFFFFF))(raw, _ctx)


def _chaddr_other(raw: bytes, ctx: Ctx) -> list[bytes]:
    other = bytes([ctx.client_mac[0], *ctx.client_mac[1:5], ctx.client_mac[5] ^ 0xFF])
    return setfield(Bootp.CHADDR, other)(raw, ctx)


def _bad_checksum(raw: bytes, _ctx: Ctx) -> list[bytes]:
    at = UDP_AT + 6
    csum = struct.unpack_from("!H", raw, at)[0] ^ 0x5A5A
    return [raw[:at] + struct.pack("!H", csum or 1) + raw[at + 2:]]


def _fragments(raw: bytes, _ctx: Ctx) -> list[bytes]:
    return fragment(raw, 20 + 96)   # the reply cut into IP fragments of 96 bytes of data each


def _flood(raw: bytes, _ctx: Ctx) -> list[bytes]:
    return [raw] * 200


def _spoofed_nak(raw: bytes, ctx: Ctx) -> list[bytes]:
    """The valid OFFER, then a NAK for the same transaction from a server it did not select."""
    items = [(53, b"\x06"), (54, ip(ctx.other_server)), (56, b"not you")]
    head = bytearray(raw[BOOTP_AT:FRAME_OPTIONS])
    head[Bootp.YIADDR:Bootp.YIADDR + 4] = bytes(4)
    nak = rebuild(raw, encode(items), bootp=bytes(head))
    nak = nak[:IP_SRC] + ip(ctx.other_server) + nak[IP_SRC + 4:]
    return [raw, rebuild(nak, encode(items), bootp=bytes(head))]


def _bigger(raw: bytes, _ctx: Ctx) -> list[bytes]:
    extra = [(224 + i % 30, bytes([i % 251]) * 200) for i in range(5)]
    return [rebuild(raw, encode(options_of(raw) + extra))]   # 1,010 bytes of vendor options


LOOP_119 = b"\x03lab\xc0\x00"                  # a label, then a pointer back to the start
MUTUAL_119 = b"\xc0\x02\xc0\x00"               # two pointers to each other
ROUTE = {
    "opt121-mask-33": b"\x21" + bytes(5) + ip("10.77.0.1"),
    "opt121-truncated": b"\x18\x0a\x4d",          # /24 with 2 of its 3 bytes, no router
    "opt121-default-route": b"\x00" + ip("10.77.0.1"),
}


def catalog() -> list[ReplyCase]:
    """Every case, in a fixed order (each name stable across releases)."""
    c = ReplyCase
    return [*core(c), *record()]


def core(c: type[ReplyCase] = ReplyCase) -> list[ReplyCase]:
    """The first cases, by the kind of anomaly."""
    return [
        # -- option sizes and lengths ------------------------------------------------
        c("opt1-mask-len-3", "CVE-2018-20679", "ack", "subnet mask of 3 bytes", setopt(1, b"\xff\xff\xff")),
        c("opt1-mask-len-5", "CVE-2018-20679", "ack", "subnet mask of 5 bytes", setopt(1, b"\xff\xff\xff\x00\x00")),
        c("opt3-router-len-3", "CVE-2019-5747", "ack", "router of 3 bytes", setopt(3, b"\x0a\x4d\x00")),
        c("opt6-dns-len-5", "CVE-2019-5747", "ack", "DNS list of 5 bytes", setopt(6, ip("10.77.0.1") + b"\x08")),
        c("opt28-broadcast-len-2", "CVE-2019-11579", "ack", "broadcast address of 2 bytes", setopt(28, b"\x0a\x4d")),
        c("opt51-lease-len-2", "CVE-2018-20679", "ack", "lease time of 2 bytes", setopt(51, b"\x0e\x10")),
        c("opt51-lease-len-0", "CVE-2018-20679", "ack", "lease time of 0 bytes", setopt(51, b"")),
        c("opt54-server-id-len-2", "CVE-2019-5747", "offer", "server id of 2 bytes", setopt(54, b"\x0a\x4d"),
          "rejected"),
        c("opt54-server-id-len-0", "CVE-2019-5747", "offer", "server id of 0 bytes", setopt(54, b""), "rejected"),
        c("opt58-t1-len-1", "CVE-2019-11577", "ack", "T1 of 1 byte", setopt(58, b"\x05")),
        c("opt59-t2-len-6", "CVE-2019-11577", "ack", "T2 of 6 bytes", setopt(59, b"\x00\x00\x01\x00\x00\x00")),
        c("option-past-end", "CVE-2019-11578", "offer", "the last option claims 200 bytes; 4 follow",
          rawtail(b"\x0c\xc8abcd", end=False)),
        c("no-end", "RFC 2131 4.1", "offer", "no END option, no padding",
          lambda raw, _c: [rebuild(raw, encode(options_of(raw)), end=False, pad=False)]),
        c("zero-length-options", "CVE-2019-11766", "ack", "hostname, domain and DNS with length 0",
          with_options(lambda items: items + [(12, b""), (15, b""), (6, b"")])),
        c("missing-opt53", "CVE-2020-7216", "offer", "no message type (option 53): a BOOTP reply (RFC 1534 3)",
          dropopt(53)),
        c("conflicting-opt53", "RFC 2131 9.6", "offer", "two message types: OFFER then ACK",
          with_options(lambda items: items + [(53, b"\x05")])),
        c("opt53-len-2", "CVE-2020-7216", "offer", "message type of 2 bytes", setopt(53, b"\x02\x02")),
        c("overload-file", "RFC 2131 4.1 (option 52)", "ack", "option 52 = 1, a hostname in the file field",
          overload(1, file_area=b"\x0c\x05board\xff")),
        c("overload-sname", "RFC 2131 4.1 (option 52)", "ack", "option 52 = 2, a domain in the sname field",
          overload(2, sname_area=b"\x0f\x04test\xff")),
        c("overload-both", "RFC 2131 4.1 (option 52)", "ack", "option 52 = 3, options in file and sname",
          overload(3, file_area=b"\x0c\x05board\xff", sname_area=b"\x0f\x04test\xff")),
        c("overload-bad-value", "RFC 2131 4.1 (option 52)", "ack", "option 52 = 7", overload(7)),
        c("overload-nested", "CVE-2018-5732", "ack", "option 52 again inside the file field",
          overload(1, file_area=b"\x34\x01\x03\x0c\x02ab\xff")),
        c("overload-file-no-end", "CVE-2018-5732", "ack", "option 52 = 1, the file field full of options, no END",
          overload(1, file_area=(b"\x0c\x7e" + b"h" * 126)[:128])),
        # -- names and text -----------------------------------------------------------
        c("opt119-pointer-loop", "CVE-2020-7461", "ack", "domain search whose pointer points at itself",
          setopt(119, LOOP_119)),
        c("opt119-mutual-pointers", "CVE-2020-7461", "ack", "domain search: two pointers to each other",
          setopt(119, MUTUAL_119)),
        c("opt119-unterminated", "CVE-2020-7461", "ack", "domain search name with no final zero label",
          setopt(119, b"\x03lab\x04test")),
        c("opt81-fqdn-loop", "RFC 4702 2.3", "ack", "client FQDN whose name is a compression loop",
          setopt(81, b"\x05\x00\x00" + LOOP_119)),
        c("opt81-unterminated", "RFC 4702 2.3", "ack", "client FQDN with an unterminated name",
          setopt(81, b"\x05\x00\x00\x05board")),
        c("hostname-shell", "CVE-2011-0997", "ack", "hostname with shell metacharacters", setopt(12, SHELL)),
        c("domain-shell", "CVE-2018-1111", "ack", "domain with a quote and a command",
          setopt(15, b"x' & touch /tmp/pwned #")),
        c("domain-search-shell", "CVE-2011-2716", "ack", "domain search with a command in a label",
          setopt(119, name(b"$(id)", b"lab"))),
        c("bootfile-shell", "CVE-2011-0997", "ack", "boot file name (67) with shell metacharacters",
          setopt(67, b"boot;reboot;`id`.img")),
        c("hostname-nul", "CVE-2011-0997", "ack", "hostname with a NUL inside", setopt(12, b"board\x00evil")),
        c("domain-non-utf8", "RFC 2132 3.17", "ack", "domain that is not UTF-8", setopt(15, b"\xff\xfe\xc0lab")),
        c("hostname-300-split", "RFC 3396", "ack", "a 300-byte hostname in two instances",
          long_option(12, b"h" * 300)),
        c("domain-600-split", "CVE-2021-25217", "ack", "a 600-byte domain in three instances",
          long_option(15, b"d" * 600)),
        # -- routes and addresses ---------------------------------------------------
        c("opt121-mask-33", "RFC 3442", "ack", "classless route with a mask width of 33",
          setopt(121, ROUTE["opt121-mask-33"])),
        c("opt121-truncated", "RFC 3442", "ack", "classless route cut short",
          setopt(121, ROUTE["opt121-truncated"])),
        c("opt121-default-route", "RFC 3442", "ack", "classless route for 0.0.0.0/0",
          setopt(121, ROUTE["opt121-default-route"])),
        c("mask-non-contiguous", "RFC 950", "ack", "subnet mask 255.0.255.0", setopt(1, ip("255.0.255.0"))),
        c("router-outside-subnet", "RFC 2132 3.5", "ack", "router 192.0.2.1, off the subnet",
          setopt(3, ip("192.0.2.1"))),
        c("yiaddr-zero", "RFC 2131 4.3.1", "ack", "yiaddr 0.0.0.0", setfield(Bootp.YIADDR, bytes(4))),
        c("yiaddr-broadcast", "RFC 2131 4.3.1", "ack", "yiaddr 255.255.255.255",
          setfield(Bootp.YIADDR, b"\xff" * 4)),
        c("yiaddr-multicast", "RFC 1112", "ack", "yiaddr 224.0.0.1", setfield(Bootp.YIADDR, ip("224.0.0.1"))),
        c("yiaddr-loopback", "RFC 1122 3.2.1.3", "ack", "yiaddr 127.0.0.1", setfield(Bootp.YIADDR, ip("127.0.0.1"))),
        c("yiaddr-server-own", "RFC 2131 2.2", "ack", "yiaddr is the server's own address",
          lambda raw, ctx: setfield(Bootp.YIADDR, ip(ctx.server_ip))(raw, ctx)),
        # -- lease times ------------------------------------------------------------
        c("lease-zero", "RFC 2131 3.3", "ack", "lease time 0", setopt(51, bytes(4))),
        c("lease-infinite", "RFC 2131 3.3", "ack", "lease time 0xffffffff", setopt(51, b"\xff" * 4)),
        c("t1-after-t2", "RFC 2131 4.4.5", "ack", "T1 600 s after T2 300 s",
          with_options(lambda items: [(c_, p) for c_, p in items if c_ not in (58, 59)]
                       + [(58, struct.pack("!I", 600)), (59, struct.pack("!I", 300))])),
        # -- replies a client must ignore -------------------------------------------
        c("xid-mismatch", "RFC 2131 4.4.1", "offer", "the OFFER carries another xid", _xid_plus_one, "rejected"),
        c("chaddr-mismatch", "RFC 2131 4.4.1", "offer", "the OFFER is for another MAC", _chaddr_other, "rejected"),
        c("bad-udp-checksum", "RFC 768", "offer", "the OFFER's UDP checksum is wrong", _bad_checksum, "rejected"),
        c("ip-fragments", "RFC 791", "offer", "the OFFER in IP fragments of 96 bytes", _fragments),
        # -- volume -----------------------------------------------------------------
        c("options-1000-bytes", "RFC 2131 2 (576-byte minimum)", "offer", "a 1,010-byte option area", _bigger),
        c("flood", "RFC 2131 4.4.1", "offer", "the OFFER 200 times", _flood, "accepted"),
        # -- protocol ---------------------------------------------------------------
        c("nak-unselected-server", "RFC 2131 4.4.1", "offer",
          "the OFFER, then a NAK for the same xid from a server it did not select", _spoofed_nak, "accepted"),
        c("nak-during-renewing", "RFC 2131 4.4.5", "renew", "a NAK to its renewal",
          lambda raw, _c: [raw], "accepted"),
        c("forcerenew-unauthenticated", "RFC 6704 / RFC 3203", "bound", "a FORCERENEW with no authentication",
          lambda raw, _c: [raw], "rejected"),
    ]


def select(names: list[str] | str | None = None) -> list[ReplyCase]:
    """The catalog, or the cases named (an unknown name says which exist)."""
    cases = catalog()
    if names is None:
        return cases
    wanted = [names] if isinstance(names, str) else list(names)
    known = {case.name: case for case in cases}
    missing = [n for n in wanted if n not in known]
    if missing:
        raise ValueError(f"unknown case {', '.join(map(repr, missing))}; known: {', '.join(known)}")
    return [known[n] for n in wanted]
