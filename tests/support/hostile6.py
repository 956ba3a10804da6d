"""A catalog of hostile DHCPv6 replies: each case turns a client's SOLICIT or
REQUEST into the frames a broken or malicious server would send back.

Each entry: name -> (builder, expectation). The expectation is what the tool
must make of it: ``"malformed: <words>"`` (kept, flagged with that reason, no
lease bound), ``"ignored"`` (not ours: kept as ignored), or ``"bound"`` (a
good if unusual reply). The builders take the request as :class:`Frame6`
read by the code under test's parser only for its txid, DUID and MAC."""

from __future__ import annotations

import struct
from typing import Callable

from scapy_dhcp_ext.wire.dhcp6 import (
    ADVERTISE,
    DNS_SERVERS,
    IA_NA,
    IA_PD,
    IAADDR,
    REPLY,
    SOLICIT,
    UDP6_AT,
    duid_ll,
    ia,
    iaaddr,
    iaprefix,
    link_local,
    option6,
    status_option,
    udp6_frame,
)
from scapy_dhcp_ext.wire.frames6 import Frame6

SERVER_MAC = bytes.fromhex("02530000bb01")
SERVER_DUID = duid_ll(SERVER_MAC)
ADDRESS6 = "fd77:1::77"
PREFIX6 = "fd77:1:2:7700::/56"

Builder = Callable[[Frame6, int], list[bytes]]


def _frame(request: Frame6, payload: bytes) -> bytes:
    return udp6_frame(payload, src_mac=SERVER_MAC, dst_mac=request.eth_src, src=link_local(SERVER_MAC),
                      dst=request.ip_src or "ff02::1", sport=547, dport=546, hop_limit=255)


def _ias(request: Frame6, na: bytes | None = None, pd: bytes | None = None) -> list[bytes]:
    out = []
    for i in request.ia_na:
        out.append(na if na is not None else ia(IA_NA, i.iaid, 100, 200, iaaddr(ADDRESS6, 300, 400)))
    for i in request.ia_pd:
        out.append(pd if pd is not None else ia(IA_PD, i.iaid, 100, 200, iaprefix(PREFIX6, 300, 400)))
    return out


def reply6(request: Frame6, msg_type: int, *, options: list[bytes] | None = None, txid: int | None = None,
           client: bytes | None = None, server: bytes = SERVER_DUID, head: bytes | None = None) -> bytes:
    """A server's message to ``request``: client id echoed, our server id, its IAs answered."""
    cid = request.client_id if client is None else client
    body = [option6(1, cid)] if cid else []
    body += [option6(2, server)]
    body += _ias(request) if options is None else options
    if request.rapid_commit and msg_type == REPLY:
        body.append(option6(14))
    t = request.txid if txid is None else txid
    payload = (head if head is not None else bytes([msg_type]) + (t or 0).to_bytes(3, "big")) + b"".join(body)
    return _frame(request, payload)


def _answer_type(request: Frame6) -> int:
    return ADVERTISE if request.msg_type == SOLICIT and not request.rapid_commit else REPLY


def normal(request: Frame6, t: int) -> list[bytes]:
    return [reply6(request, t)]


def with_ias(na: Callable[[int], bytes] | None = None, pd: Callable[[int], bytes] | None = None) -> Builder:
    def build(request: Frame6, t: int) -> list[bytes]:
        options = []
        for i in request.ia_na:
            options.append(na(i.iaid) if na else ia(IA_NA, i.iaid, 100, 200, iaaddr(ADDRESS6, 300, 400)))
        for i in request.ia_pd:
            options.append(pd(i.iaid) if pd else ia(IA_PD, i.iaid, 100, 200, iaprefix(PREFIX6, 300, 400)))
        return [reply6(request, t, options=options)]
    return build


def extra(*options: bytes) -> Builder:
    return lambda request, t: [reply6(request, t, options=_ias(request) + list(options))]


def patched(edit: Callable[[bytearray], None]) -> Builder:
    def build(request: Frame6, t: int) -> list[bytes]:
        frame = bytearray(reply6(request, t))
        edit(frame)
        return [bytes(frame)]
    return build


def _truncated_iaaddr(iaid: int) -> bytes:
    # CVE-2018-15688's shape: the IAADDR header says 24 bytes, the IA holds 10 of them.
    inner = struct.pack("!HH", IAADDR, 24) + bytes(10)
    return option6(IA_NA, struct.pack("!III", iaid, 100, 200) + inner)


def _bad_checksum(frame: bytearray) -> None:
    frame[UDP6_AT + 6] ^= 0xFF


def _udp_length_lie(frame: bytearray) -> None:
    struct.pack_into("!H", frame, UDP6_AT + 4, len(frame) - UDP6_AT + 40)


CATALOG: dict[str, tuple[Builder, str]] = {
    "normal": (normal, "bound"),
    "t1-gt-t2": (with_ias(lambda i: ia(IA_NA, i, 300, 200, iaaddr(ADDRESS6, 300, 400))), "malformed: T1 300 > T2 200"),
    "pd-t1-gt-t2": (with_ias(pd=lambda i: ia(IA_PD, i, 900, 600, iaprefix(PREFIX6, 300, 400))),
                    "malformed: T1 900 > T2 600"),
    "ia-truncated-suboption": (with_ias(_truncated_iaaddr), "malformed: IAADDR"),
    "option-past-end": (extra(struct.pack("!HH", DNS_SERVERS, 64) + bytes(16)), "malformed: says 64 bytes"),
    "status-not-utf8": (extra(status_option(0, b"\xff\xfe\xfd")), "malformed: not UTF-8"),
    "server-duid-empty": (lambda r, t: [reply6(r, t, server=b"")], "malformed: server_id has 0 bytes"),
    "server-duid-200": (lambda r, t: [reply6(r, t, server=b"\x00\x02" + bytes(198))],
                        "malformed: DUID of 200 bytes"),
    "preferred-gt-valid": (with_ias(lambda i: ia(IA_NA, i, 100, 200, iaaddr(ADDRESS6, 500, 400))),
                           "malformed: preferred lifetime 500 > valid 400"),
    "prefix-len-129": (with_ias(pd=lambda i: ia(IA_PD, i, 100, 200, option6(26, struct.pack("!IIB", 300, 400, 129)
                                                                             + bytes(16)))),
                       "malformed: prefix length 129"),
    "duplicate-server-id": (extra(option6(2, SERVER_DUID)), "malformed: server_id appears 2 times"),
    "preference-3-bytes": (extra(option6(7, b"\x01\x02\x03")), "malformed: preference has 3 bytes"),
    "bad-udp-checksum": (patched(_bad_checksum), "malformed: checksum"),
    "udp-length-lie": (patched(_udp_length_lie), "malformed: UDP length"),
    "over-512-bytes": (extra(option6(DNS_SERVERS, bytes(range(16)) * 40)), "bound"),
    "wrong-txid": (lambda r, t: [reply6(r, t, txid=((r.txid or 0) + 1) & 0xFFFFFF)], "ignored"),
    "other-client-id": (lambda r, t: [reply6(r, t, client=duid_ll("02:00:00:00:99:99"))], "ignored"),
    "no-client-id": (lambda r, t: [reply6(r, t, client=b"")], "ignored"),
    "unknown-type-99": (lambda r, t: [reply6(r, t, head=bytes([99]) + (r.txid or 0).to_bytes(3, "big"))], "ignored"),
    "header-cut-short": (lambda r, t: [_frame(r, bytes([t, 0]))], "ignored"),
}


def respond6(case: str, request: Frame6) -> list[bytes]:
    """The frames the server sends for ``request`` under ``case``."""
    if request.msg_type not in (1, 3, 5, 6, 8, 9, 11) or request.relayed:
        return []
    builder, _ = CATALOG.get(case, CATALOG["normal"])
    return builder(request, _answer_type(request))
